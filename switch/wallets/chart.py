"""Chart of accounts: which ledger accounts exist, their codes, flags and (deterministic) ids.

Per currency ledger (B2: one wallet per currency):
- cardholder (issuer side), debits must not exceed credits (B3: never negative by the customer's payments);
- per merchant: available (paid-out-able), unsettled (captured, not yet settled), both never negative;
  receivable (what the merchant owes us, N7/N13/N14), credits must not exceed debits so a recovery takes
  at most the debt;
- per remote issuer: interchange receivable (what that issuer, through the scheme, owes us for off-us
  sales we paid its cardholders' merchants) and interchange payable (what we owe it for the refunds its
  cardholders got). Both are signed positions, without balance limits: once the scheme has settled them,
  a sale reversed or charged back (or a refund voided) is owed the other way until the next settlement;
- system: issuer funding (source of cardholder money), fee income, settlement bank (payouts and clawbacks
  go there), chargebacks and control (zero-balance accounts that route "from wallet, shortfall to
  receivable" chains, TigerBeetle's balancing-transfer recipe).
Ids derive from names, so any process finds an account without a lookup table.
"""

from __future__ import annotations

import enum
from functools import lru_cache

from switch.ledger import Account, AccountFlags, id_from
from switch.wallets.currency import currency

NO_OVERDRAFT = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
DEBT_ONLY = AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS


class Code(enum.IntEnum):
    """Account codes."""
    CARDHOLDER = 100
    MERCHANT_AVAILABLE = 200
    MERCHANT_UNSETTLED = 201
    MERCHANT_RECEIVABLE = 202
    FEE_INCOME = 300
    SETTLEMENT_BANK = 400
    CHARGEBACKS = 500
    ISSUER_FUNDING = 600
    INTERCHANGE_RECEIVABLE = 700
    INTERCHANGE_PAYABLE = 701
    CONTROL = 900


class Kind(enum.IntEnum):
    """Transfer codes: why money moved."""
    FUNDING = 1
    PURCHASE = 10
    HOLD = 11
    CAPTURE = 12
    CASH = 13
    CARD_TRANSFER = 14
    REFUND = 20
    REVERSAL = 21
    MDR_FEE = 30
    MAINTENANCE_FEE = 31
    POS_FEE = 32
    OTHER_FEE = 33
    FEE_RETURN = 34
    SETTLEMENT = 40
    RECOVERY = 41
    CHARGEBACK = 50
    PAYOUT = 60
    CLAWBACK = 70


MERCHANT_ROLES = {"available": (Code.MERCHANT_AVAILABLE, NO_OVERDRAFT),
                  "unsettled": (Code.MERCHANT_UNSETTLED, NO_OVERDRAFT),
                  "receivable": (Code.MERCHANT_RECEIVABLE, DEBT_ONLY)}
SYSTEM_ROLES = {"fee_income": Code.FEE_INCOME, "settlement": Code.SETTLEMENT_BANK,
                "chargebacks": Code.CHARGEBACKS, "issuer_funding": Code.ISSUER_FUNDING, "control": Code.CONTROL}


@lru_cache(maxsize=65536)  # pure functions of their text: one blake2b per id per process
def card_account_id(card_ref: str, cur: str) -> int:
    return id_from("card", card_ref, currency(cur).numeric)


@lru_cache(maxsize=65536)  # pure functions of their text: one blake2b per id per process
def merchant_account_id(mid: str, cur: str, role: str) -> int:
    return id_from("merchant", mid, currency(cur).numeric, role)


@lru_cache(maxsize=65536)  # pure functions of their text: one blake2b per id per process
def system_account_id(cur: str, role: str) -> int:
    return id_from("system", currency(cur).numeric, role)


@lru_cache(maxsize=4096)  # pure functions of their text: one blake2b per id per process
def interchange_account_id(issuer_ref: str, cur: str) -> int:
    return id_from("interchange", issuer_ref, currency(cur).numeric)


@lru_cache(maxsize=4096)  # pure functions of their text: one blake2b per id per process
def interchange_payable_id(issuer_ref: str, cur: str) -> int:
    return id_from("interchange_payable", issuer_ref, currency(cur).numeric)


def card_account(card_ref: str, cur: str) -> Account:
    return Account(card_account_id(card_ref, cur), currency(cur).ledger, Code.CARDHOLDER, flags=NO_OVERDRAFT)


def merchant_accounts(mid: str, cur: str) -> list[Account]:
    ledger = currency(cur).ledger
    return [Account(merchant_account_id(mid, cur, role), ledger, code, flags=flags)
            for role, (code, flags) in MERCHANT_ROLES.items()]


def system_accounts(cur: str) -> list[Account]:
    ledger = currency(cur).ledger
    return [Account(system_account_id(cur, role), ledger, code) for role, code in SYSTEM_ROLES.items()]


def interchange_account(issuer_ref: str, cur: str) -> Account:
    """Off-us acquiring: one receivable per remote issuer per currency, debited by its cardholders' sales."""
    return Account(interchange_account_id(issuer_ref, cur), currency(cur).ledger, Code.INTERCHANGE_RECEIVABLE)


def interchange_payable(issuer_ref: str, cur: str) -> Account:
    """Off-us refunds: one payable per remote issuer per currency, credited by the refunds our merchants
    give its cardholders (the issuer credits the card; the scheme collects from us)."""
    return Account(interchange_payable_id(issuer_ref, cur), currency(cur).ledger, Code.INTERCHANGE_PAYABLE)
