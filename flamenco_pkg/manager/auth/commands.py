"""`-add-user`, `-new-token`, `-revoke-token`, `-list-users`, `-delete-user`: users from the command line.

They write the Manager's SQLite database directly, so they work while the
Manager runs; it looks users and tokens up per request and sees the change
at once. The database check is left to the Manager (it can take long).
"""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import TextIO

from ..db.connection import Database, DatabaseError
from ..errors import ManagerError
from . import accounts


def _password(stdin: TextIO) -> str:
    """From the terminal without echo (asked twice), else the first line of standard input."""
    if stdin.isatty():
        first = getpass.getpass("password: ")
        if getpass.getpass("password again: ") != first:
            raise ManagerError(400, "the passwords differ")
        return first
    return stdin.readline().rstrip("\r\n")


def run(args, config, stdin: TextIO = sys.stdin, out: TextIO = sys.stdout) -> int:
    """Run the one user command named in `args`; the exit code."""
    try:
        db = Database(Path(config.database.strip()).expanduser().absolute(), readers=1, check=False)
    except DatabaseError as exc:
        print(f"flamenco-manager: {exc}", file=sys.stderr)
        return 1
    try:
        if args.add_user:
            if not args.role:
                raise ManagerError(400, "-add-user needs -role viewer|artist|manager|admin|worker")
            accounts.check_username(args.add_user)
            accounts.check_role(args.role)
            created = accounts.save_user(db, args.add_user, args.role, _password(stdin))
            print(f"user {args.add_user} {'added' if created else 'updated'} with role {args.role}", file=out)
        elif args.new_token:
            public_id, token = accounts.new_token(db, args.new_token)
            print(f"new API token {public_id} for user {args.new_token}; it is shown only now:", file=out)
            print(token, file=out)
        elif args.revoke_token:
            accounts.revoke_token(db, args.revoke_token)
            print(f"API token {args.revoke_token} revoked", file=out)
        elif args.delete_user:
            accounts.delete_user(db, args.delete_user)
            print(f"user {args.delete_user} deleted", file=out)
        elif args.list_users:
            users = accounts.list_users(db)
            if not users:
                print("no users", file=out)
            for user in users:
                tokens = ", ".join(t["id"] for t in user["tokens"]) or "no tokens"
                print(f"{user['username']}\t{user['role']}\t{tokens}", file=out)
    except ManagerError as exc:
        print(f"flamenco-manager: {exc.message}", file=sys.stderr)
        return 1
    finally:
        db.close()
    return 0
