"""Double-entry ledger with TigerBeetle's semantics, on SQLAlchemy (SQLite or PostgreSQL).

Model
-----
- One *ledger* per currency (we use the ISO 4217 numeric code: 682 SAR, 368 IQD, 840 USD). An account
  and every transfer touching it share one ledger; money never crosses ledgers.
- An *account* holds four balances, all integer minor units >= 0: debits_pending, debits_posted,
  credits_pending, credits_posted. Nothing else ever changes them but transfers.
- A *transfer* moves `amount` from its debit account to its credit account. Transfers are immutable and
  carry a client-chosen `id` (1 .. 2**63-2); `switch.ledger.id_from(*parts)` derives one from request data.
  Sending the same id again never books twice: it is answered `exists` when every field matches, else
  `exists_with_different_<field>`.

Flags
-----
Account: `linked`; `debits_must_not_exceed_credits` (debits_pending + debits_posted <= credits_posted,
e.g. a cardholder or a merchant wallet: no overdraft); `credits_must_not_exceed_debits` (the mirror, e.g.
a receivable that can only be paid down). The two limit flags exclude each other.

Transfer:
- `pending`: a hold. Adds to debits_pending/credits_pending and counts against the limits at once.
  `timeout` (seconds, 0 = never) makes it expire: the hold is released and the pending transfer's status
  becomes `expired` (released by `Ledger.expire_pending()`, by a batch that posts or voids it, and by
  the batches that pass by, which look for overdue holds at most once a second of the ledger's clock).
- `post_pending_transfer` with `pending_id`: moves the hold to posted. `amount` <= the pending amount
  posts part (the rest is released); `amount == AMOUNT_MAX` posts the full pending amount.
- `void_pending_transfer` with `pending_id`: releases the hold (`amount` 0, AMOUNT_MAX or the pending
  amount). Post and void may leave debit/credit account, ledger and code zero: they are taken from the
  pending transfer and must match when given. A pending transfer is resolved once: posted, voided or
  expired.
- `balancing_debit` / `balancing_credit`: book at most `amount`, reduced so that the debit account's
  debits do not exceed its credits / the credit account's credits do not exceed its debits (whatever the
  accounts' own flags); the stored transfer has the amount actually booked (may be 0).
- `linked`: this event and the next succeed or fail together. A chain ends at the first event without
  the flag. If one fails, it gets its own result and every other event of the chain
  `linked_event_failed`; nothing of the chain is booked. A chain still open at the end of the batch fails
  with `linked_event_chain_open` on its last event.

Results
-------
`Ledger.create_transfers(batch)` returns one `CreateTransferResult` per event, in order (unlike
TigerBeetle, which lists only failures). Events apply in order, each seeing the effects of the earlier
ones; the whole batch is one database transaction, durable when the call returns. Checks, in order:
id_must_not_be_zero, id_must_not_be_int_max, flags_are_mutually_exclusive (post with void, or either with
pending or balancing), then `exists`/`exists_with_different_*` if the id is known; then for post/void:
pending_id_must_not_be_zero, pending_id_must_be_different, timeout_reserved_for_pending_transfer,
amount_must_not_be_negative, pending_transfer_not_found, pending_transfer_not_pending,
pending_transfer_has_different_{debit_account_id,credit_account_id,ledger,code},
exceeds_pending_transfer_amount, pending_transfer_has_different_amount (void),
pending_transfer_already_posted, pending_transfer_already_voided, pending_transfer_expired; for others:
debit_account_id_must_not_be_zero, credit_account_id_must_not_be_zero, accounts_must_be_different,
pending_id_must_be_zero, timeout_reserved_for_pending_transfer, amount_must_not_be_negative,
ledger_must_not_be_zero, code_must_not_be_zero, debit_account_not_found, credit_account_not_found,
accounts_must_have_the_same_ledger, transfer_must_have_the_same_ledger_as_accounts, overflows_debits,
overflows_credits, overflows_timeout, exceeds_credits (debit account limited), exceeds_debits (credit
account limited). A zero amount is valid (TigerBeetle 0.16).

Not kept from TigerBeetle: failed transfers are not recorded, so an id that failed (e.g. exceeds_credits)
may succeed when sent again later; callers that need a stable answer store it (switch.wallets does, in
the same transaction, through the `hook` argument). No u128: ids, amounts and balances are 63-bit.

Concurrency: each batch locks the rows it touches (PostgreSQL: SELECT ... FOR UPDATE, accounts then
pending rows, ascending id, so batches never deadlock each other; SQLite: BEGIN IMMEDIATE, one writer).
A concurrent insert of the same id is retried and then answered `exists`. On SQLite, calls from several
threads of one process share a transaction and its fsync (group commit, switch/ledger/group.py), each
caller's part in its own SAVEPOINT; a call still returns only after the commit holding its work. A
`hook` passed to create_transfers runs inside that transaction and must not call the ledger itself.
Inside a request's job (switch.ledger.unit) a caller may pass `fresh=True`: its ids are new (derived from
a key it found unused in this transaction) and its hook raises nothing it would catch, so on SQLite the
batch runs as a plain part of the job, with no savepoint, retry or look-up of its ids of its own.

Audit (`switch.ledger.audit(engine)`, `acqsim ledger audit`): debits == credits per ledger (posted and
pending), every balance == the sum of its transfers, no limit broken, no pending transfer past its
timeout, no pending transfer resolved twice.
"""

from __future__ import annotations

from switch.ledger import unit
from switch.ledger.audit import audit
from switch.ledger.core import Ledger
from switch.ledger.types import (
    AMOUNT_MAX,
    Account,
    AccountFlags,
    CreateAccountResult,
    CreateTransferResult,
    PendingStatus,
    Transfer,
    TransferFlags,
    id_from,
)

__all__ = [
    "AMOUNT_MAX", "Account", "AccountFlags", "CreateAccountResult", "CreateTransferResult", "Ledger",
    "PendingStatus", "Transfer", "TransferFlags", "audit", "id_from", "unit",
]
