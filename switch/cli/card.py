"""`acqsim card issue|block|unblock|lost|stolen|limits|show`: card management (PANs shown masked)."""

from __future__ import annotations

import argparse
import json
import secrets

from switch.cli.common import CliError, add_data_flags, add_json_flag, print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("card", help="issue, block, unblock, report lost/stolen, set limits, show cards")
    csub = p.add_subparsers(dest="card_command", metavar="ACTION")
    csub.required = True

    def cmd(name: str, helptext: str, func, with_card: bool = True) -> argparse.ArgumentParser:
        c = csub.add_parser(name, help=helptext)
        if with_card:
            c.add_argument("card", help="PAN, or #ID (card id from `card show`)")
        add_data_flags(c)
        add_json_flag(c)
        c.set_defaults(func=func)
        return c

    issue = cmd("issue", "issue a test card on a local issuer's BIN", cmd_issue, with_card=False)
    issue.add_argument("--bin", default="47617390", help="BIN range prefix (default 47617390, Visa on-us)")
    issue.add_argument("--pan", help="exact PAN (default: a random one in the BIN, with check digit)")
    issue.add_argument("--pin", required=True, help="the cardholder's PIN (turned into a PVV/offset by the HSM)")
    issue.add_argument("--expiry", default="2912", help="YYMM")
    issue.add_argument("--service-code", default="201")
    issue.add_argument("--psn", default="00")
    issue.add_argument("--currency", default="682")
    issue.add_argument("--balance", type=int, default=0, help="opening balance in minor units")
    issue.add_argument("--kyc", choices=("unverified", "verified"), default="unverified", help="B4 level")
    issue.add_argument("--name", help="cardholder name")
    issue.add_argument("--reveal", action="store_true", help="print the full PAN once (test lab)")
    block = cmd("block", "block a card (B6)", cmd_status)
    block.add_argument("--reason", default="blocked by the operator")
    cmd("unblock", "unblock a card and reset its PIN tries (B5: support only)", cmd_status)
    cmd("lost", "report a card lost (N20): 41 from now on", cmd_status)
    cmd("stolen", "report a card stolen (N20): 43 from now on", cmd_status)
    lim = cmd("limits", "set per-card limits or the verification level (B4, N15)", cmd_limits)
    lim.add_argument("--set", action="append", default=[], metavar="CATEGORY.KEY=AMOUNT",
                     help="e.g. purchase.per_txn=50000, cash.daily_count=3 (repeatable)")
    lim.add_argument("--unset", action="append", default=[], metavar="CATEGORY.KEY")
    lim.add_argument("--clear", action="store_true", help="drop every per-card override")
    lim.add_argument("--kyc", choices=("unverified", "verified"))
    show = cmd("show", "show one card or all (masked)", cmd_show, with_card=False)
    show.add_argument("card", nargs="?", help="PAN or #ID; all cards when omitted")


def _open(args):
    from switch.issuer.loader import read_config, vault_for
    from switch.issuer.store import IssuerStore
    from switch.store import open_database

    config = read_config(args.config)
    engine = open_database(args.db, args.data_dir)
    return IssuerStore(engine, vault_for(config)), config


def _find(store, ref: str):
    card = store.card_by_id(int(ref[1:])) if ref.startswith("#") and ref[1:].isdigit() else store.find_card(ref)
    if card is None:
        raise CliError("no such card")
    return card


def _view(store, card, funds=None) -> dict:
    out = {"id": card.card_id, "pan": card.pan_masked, "issuer": card.issuer_id, "product": card.product,
           "expiry": card.expiry, "service_code": card.service_code, "status": card.status,
           "status_reason": card.status_reason, "pin_tries": card.pin_tries, "kyc": card.kyc_level,
           "currency": card.currency, "limits": card.limits, "account": card.account_id}
    if funds is not None and card.account_id:
        ledger, available = funds.balance(card.account_id)
        out.update(balance=ledger, available=available)
    return out


def _emit(args, doc) -> None:
    if args.json:
        print_json(doc)
        return
    for c in doc if isinstance(doc, list) else [doc]:
        bal = f" balance={c['balance']} available={c['available']}" if "balance" in c else ""
        print(f"#{c['id']} {c['pan']} {c['product']} exp={c['expiry']} {c['status']}"
              f"{' (' + c['status_reason'] + ')' if c.get('status_reason') else ''} tries={c['pin_tries']}"
              f" kyc={c['kyc']}{bal}" + (f" limits={json.dumps(c['limits'])}" if c["limits"] else ""))


def cmd_status(args: argparse.Namespace) -> int:
    store, _ = _open(args)
    card = _find(store, args.card)
    action = args.card_command
    if action == "block":
        store.set_status(card.card_id, "blocked", args.reason)
    elif action == "unblock":
        if card.status in ("lost", "stolen"):  # N20: a reported card stays stopped; issue a new one
            raise CliError(f"card is reported {card.status}; issue a replacement instead")
        store.set_status(card.card_id, "active", None, reset_pin_tries=True)
    else:
        store.set_status(card.card_id, action, f"reported {action} by the cardholder (N20)")
    _emit(args, _view(store, store.card_by_id(card.card_id)))
    return 0


def cmd_limits(args: argparse.Namespace) -> int:
    store, _ = _open(args)
    card = _find(store, args.card)
    limits = {} if args.clear else {k: dict(v) for k, v in card.limits.items()}
    for item in args.set:
        key, sep, value = item.partition("=")
        cat, dot, name = key.partition(".")
        if not sep or not dot or not value.isdigit():
            raise CliError(f"--set wants CATEGORY.KEY=AMOUNT, got {item!r}")
        limits.setdefault(cat, {})[name] = int(value)
    for key in args.unset:
        cat, _, name = key.partition(".")
        limits.get(cat, {}).pop(name, None)
    store.set_limits(card.card_id, {k: v for k, v in limits.items() if v})
    if args.kyc:
        store.set_kyc(card.card_id, args.kyc)
    _emit(args, _view(store, store.card_by_id(card.card_id)))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from switch.auth.wallets_funds import WalletsFunds

    store, config = _open(args)
    funds = WalletsFunds(store.engine, config)
    if args.card:
        _emit(args, _view(store, _find(store, args.card), funds))
    else:
        _emit(args, [_view(store, c, funds) for c in store.list_cards()])
    return 0


def cmd_issue(args: argparse.Namespace) -> int:
    from switch.auth.wallets_funds import WalletsFunds
    from switch.issuer.loader import default_hsm
    from switch.issuer.pan import luhn_digit, luhn_ok
    from switch.issuer.secrets import ibm_validation_data

    store, config = _open(args)
    pan = args.pan or _random_pan(args.bin, luhn_digit)
    if not luhn_ok(pan):
        raise CliError("PAN fails the Luhn check")
    if not (args.pin.isdigit() and 4 <= len(args.pin) <= 12):
        raise CliError("PIN must be 4 to 12 digits")
    routed = store.route_bin(pan)
    if routed is None or routed[0].kind != "local":
        raise CliError("no local issuer for this BIN (fixtures load first?)")
    if store.find_card(pan):
        raise CliError("card exists")
    issuer, product = routed
    hsm = default_hsm()
    pvv = offset = None
    if product.pin_method == "pvv":
        pvv = hsm.derive_pvv(pvk=issuer.pvk, pin=args.pin, pan=pan, pvki=issuer.pvki)
    else:
        offset = hsm.ibm_offset(pvk=issuer.pvk, pin=args.pin, pan=pan, dec_table=issuer.dec_table,
                                pin_validation_data=ibm_validation_data(pan))[:4]
    card_id = store.add_card(pan=pan, issuer_id=issuer.issuer_id, product=product.code, expiry=args.expiry,
                             service_code=args.service_code, psn=args.psn, pvv=pvv, pin_offset=offset,
                             account_id="", currency=args.currency, kyc_level=args.kyc, cardholder=args.name)
    funds = WalletsFunds(store.engine, config)
    account = funds.open_card_account(f"card:{card_id}", args.currency, args.balance)
    from sqlalchemy import update

    from switch.issuer.tables import cards

    with store.engine.begin() as conn:
        conn.execute(update(cards).where(cards.c.card_id == card_id).values(account_id=str(account)))
    view = _view(store, store.card_by_id(card_id), funds)
    if args.reveal:
        view["pan_clear"] = pan
    _emit(args, view)
    if args.reveal and not args.json:
        print(f"PAN {pan} (shown once; the database keeps it encrypted)")
    return 0


def _random_pan(bin_prefix: str, luhn_digit) -> str:
    body = bin_prefix + "".join(secrets.choice("0123456789") for _ in range(15 - len(bin_prefix)))
    return body + luhn_digit(body)
