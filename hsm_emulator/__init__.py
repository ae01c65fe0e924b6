"""hsm_emulator"""
