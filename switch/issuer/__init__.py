"""Issuer simulation: issuers with BIN ranges and products, cards (PAN encrypted, found by keyed hash),
terminals, cardholder limits (B4, N15), and the shipped test fixtures.

Entry points: `IssuerStore` (DB access), `PanVault` (PAN at rest), `load_fixtures` / `fixtures.show` /
`fixtures.load_into`, `compute_card_secrets` (test card personalisation).
"""

from switch.issuer.model import PIN_TRY_LIMIT, Card, Issuer, Merchant, Product, Terminal
from switch.issuer.pan import PanVault, luhn_ok, mask_pan

__all__ = ["PIN_TRY_LIMIT", "Card", "Issuer", "Merchant", "PanVault", "Product", "Terminal", "luhn_ok",
           "mask_pan"]
