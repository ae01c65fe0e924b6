"""`acqsim demo`: the main job on embedded defaults (see runner.py)."""

from switch.demo.plan import Step, load_day
from switch.demo.runner import DemoStack, back_office, merchant_rows, run_day

__all__ = ["DemoStack", "Step", "back_office", "load_day", "merchant_rows", "run_day"]
