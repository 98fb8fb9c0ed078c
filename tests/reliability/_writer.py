"""A writer process for the crash test: appends forever, acknowledging each commit.

Usage: python _writer.py URL OPTIONS_JSON SESSION_ID ROUND
It first prints "ready LEVEL" (SQLite's PRAGMA synchronous, "-" elsewhere); after every
append returns it prints one line per stored message, "seq id", and flushes: a line the
parent has read is an acknowledged message.
"""

from __future__ import annotations

import json
import sys

import sessiondb


def main() -> None:
    url, options, session_id, round_no = (
        sys.argv[1],
        json.loads(sys.argv[2]),
        sys.argv[3],
        sys.argv[4],
    )
    with sessiondb.connect(url, **options) as db:
        # On SQLite, say which synchronous level this writer really commits with.
        conn = getattr(db, "_conn", None)
        level = conn().execute("PRAGMA synchronous").fetchone()[0] if conn else "-"
        print(f"ready {level}", flush=True)
        i = 0
        while True:
            if i % 3 == 0:
                call_id = f"call-{round_no}-{i}"
                batch = [
                    {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "id": call_id,
                                "type": "function",
                                "function": {"name": "bash", "arguments": json.dumps({"i": i})},
                            }
                        ],
                    },
                    {"role": "tool", "tool_call_id": call_id, "content": "ok " * 50},
                ]
                ids = [f"{round_no}-{i}-a", f"{round_no}-{i}-b"]
            else:
                batch = [{"role": "user", "content": f"message {i} of round {round_no} " * 10}]
                ids = [f"{round_no}-{i}-u"]
            stored = db.append(session_id, batch, ids=ids, usage=sessiondb.Usage(output_tokens=1))
            sys.stdout.write("".join(f"{m.seq} {m.id}\n" for m in stored))
            sys.stdout.flush()
            i += 1


if __name__ == "__main__":
    main()
