#!/usr/bin/env python3
"""The search benchmark's two halves (bench/search-bench.sh runs them).

  search_bench.py seed DB --messages N [--purge-at N ...]
      Adds N messages to the conversations of a stopped server's database, in
      transactions of 50,000, through the real schema: migration 0008's
      triggers index every message as a send would. The text is chat-like:
      words drawn with a Zipf-like skew from a vocabulary of English,
      Russian, Greek, German, French, Japanese and Chinese words and phrases,
      plus a long tail of 50,000 made-up words (names, jargon, typos), 3 to
      24 words a message. At each --purge-at count, one message is deleted
      as the server would and the FTS5 'optimize' that the purge runs is
      timed. Prints one JSON object.

  search_bench.py query --server URL --username U --password P [--rounds R]
      Logs in over REST and runs each query of QUERIES R times (shuffled,
      sequentially, on one keep-alive connection), timing each
      GET /api/v1/search from request to the last byte. Prints one JSON
      object: per query and per class, p50 and p99 in ms, statuses, hits.

Only the standard library: it runs wherever python3 does.
"""
import argparse
import http.client
import json
import os
import random
import sqlite3
import sys
import time
import urllib.parse

# Words people write in chat, most common first (the draw favours the head).
COMMON = """
the you and to it is for that on we in this of can be have are just ok do
will at not me with my so if it's i'm but what no yes about get all today
tomorrow meeting please thanks thank see when now know think how there need
time good up out work from call send later here one more back let's review
file check morning update team done sure going week project issue fix build
release report deploy draft plan budget client customer lunch coffee office
home weekend monday tuesday wednesday thursday friday deadline ticket branch
merge test server database login password invoice contract design mockup
slides agenda notes doc link screenshot photo video broken working great
awesome sorry problem question answer idea before after soon quick small big
new old again already maybe probably tonight yesterday minutes hour
""".split()
# Whole phrases, kept together so that phrase queries have something to find.
PHRASES = ["see you tomorrow", "thank you", "good morning", "on my way", "let me know", "sounds good",
           "as soon as possible", "out of office", "happy birthday", "pull request"]
OTHER = """
привет спасибо завтра встреча сегодня отчёт проект пожалуйста хорошо понятно
καλημέρα ευχαριστώ αύριο συνάντηση σήμερα έργο αναφορά εντάξει
grüße straße morgen besprechung über prüfen café déjà réunion demain été
会議 明日 東京 資料 確認 お疲れ様です 了解 你好 谢谢 明天 会议 项目 報告
""".split()
SYLLABLES = "ka ro mi ta ne su lo pe vi da zu ri ko ma ne bo ti sa le gu".split()
TAIL = 50_000


def tail_word(i):
    """The i-th made-up word: 3 or 4 syllables, spelled from i."""
    parts = []
    for _ in range(3 + i % 2):
        parts.append(SYLLABLES[i % len(SYLLABLES)])
        i //= len(SYLLABLES)
    return "".join(parts) + ("x" if i % 2 else "")


def make_words(rng, n):
    head = COMMON + PHRASES + OTHER
    # Zipf-like: the k-th word of the head is drawn with weight 1/(k+10).
    weights = [1.0 / (k + 10) for k in range(len(head))]
    out = rng.choices(head, weights=weights, k=n)
    for i in range(n):
        if rng.random() < 0.15:
            out[i] = tail_word(rng.randrange(TAIL))
    return out


def search_fold():
    """The text the server indexes for a body: migration 0008's Greek folding,
    read from the migration itself so that the two cannot differ."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "server", "migrations", "sqlite",
                        "0008_search.sql")
    sql = open(path, encoding="utf-8").read()
    start = sql.index("CASE WHEN NEW.body")
    end = sql.index("ELSE NEW.body END", start) + len("ELSE NEW.body END")
    return sql[start:end].replace("NEW.body", "body")


def seed(args):
    rng = random.Random(12)
    db = sqlite3.connect(args.db, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = OFF")
    conversations = db.execute("SELECT id, created_by, last_seq FROM conversations ORDER BY id").fetchall()
    members = {c: [u for (u,) in db.execute("SELECT user_id FROM members WHERE conversation_id = ?", (c,))]
               for c, _, _ in conversations}
    pos = db.execute("SELECT MAX((SELECT last_pos FROM stream_state), "
                     "COALESCE((SELECT MAX(pos) FROM messages), 0))").fetchone()[0]
    seqs = {c: last for c, _, last in conversations}
    now_ms = int(time.time() * 1000)
    spacing_ms = 30_000  # one message every 30 s: 1,000,000 span about a year
    purge_at = sorted(args.purge_at)
    purges = []
    started = time.monotonic()
    done = 0
    batch = 50_000
    while done < args.messages:
        n = min(batch, args.messages - done)
        lengths = [rng.randint(3, 24) for _ in range(n)]
        words = make_words(rng, sum(lengths))
        rows = []
        at = 0
        for k in range(n):
            body = " ".join(words[at:at + lengths[k]])
            at += lengths[k]
            conversation = conversations[(done + k) % len(conversations)][0]
            seqs[conversation] += 1
            pos += 1
            sender = rng.choice(members[conversation])
            created = now_ms - (args.messages - done - k) * spacing_ms
            rows.append((conversation, seqs[conversation], pos, sender, f"seed-{done + k}", body, created))
        db.execute("BEGIN")
        db.executemany("INSERT INTO messages (conversation_id, seq, pos, sender_id, client_id, body, created_at) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        # Indexed as the server's writer indexes a batch (migration 0012).
        db.execute(f"INSERT INTO message_search (rowid, body) SELECT id, {search_fold()} FROM messages "
                   "WHERE id > (SELECT indexed_through FROM stream_state) AND deleted_at IS NULL")
        db.execute("UPDATE stream_state SET indexed_through = (SELECT MAX(id) FROM messages)")
        db.execute("COMMIT")
        done += n
        while purge_at and done >= purge_at[0]:
            purge_at.pop(0)
            purges.append(timed_purge(db, done, now_ms))
        print(f"seeded {done} messages in {time.monotonic() - started:.0f} s", file=sys.stderr)
    seeding_s = time.monotonic() - started
    for c in seqs:
        db.execute("UPDATE conversations SET last_seq = ?, last_pos = (SELECT MAX(pos) FROM messages "
                   "WHERE conversation_id = ?) WHERE id = ?", (seqs[c], c, c))
    db.execute("UPDATE stream_state SET last_pos = ?", (pos,))
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    json.dump({"messages": done, "seconds": round(seeding_s, 1), "purges": purges}, sys.stdout)
    print()


def timed_purge(db, indexed, now_ms):
    """Deletes one message as the server does, then times the purge's
    'optimize' (the writer's stall), as the server would run it."""
    victim = db.execute("SELECT MAX(id) FROM messages WHERE deleted_at IS NULL").fetchone()[0]
    db.execute("UPDATE messages SET body = '', deleted_at = ? WHERE id = ?", (now_ms, victim))
    pages = db.execute("SELECT COUNT(*) FROM message_search_data").fetchone()[0]
    started = time.monotonic()
    db.execute("BEGIN IMMEDIATE")
    db.execute("INSERT INTO message_search (message_search) VALUES ('optimize')")
    db.execute("COMMIT")
    seconds = time.monotonic() - started
    print(f"purge at {indexed} messages: {seconds:.2f} s ({pages} index pages)", file=sys.stderr)
    return {"messages": indexed, "index_pages": pages, "seconds": round(seconds, 3)}


# (class, query). Classes: single words (frequent, rare, non-Latin),
# prefixes, phrases, and each with operators.
QUERIES = [
    ("word", "meeting"),
    ("word", "deadline"),
    ("word", tail_word(4242)),
    ("word", "завтра"),
    ("word", "συνάντηση"),
    ("prefix", "meet*"),
    ("prefix", "pro*"),
    ("prefix", "завт*"),
    ("prefix", "会議*"),
    ("phrase", '"see you tomorrow"'),
    ("phrase", '"thank you"'),
    ("phrase", '"pull request" review'),
    ("operators", "meeting from:{user}"),
    ("operators", "deploy after:{recent}"),
    ("operators", "budget before:{old}"),
    ("operators", "release in:{conversation}"),
    ("operators", "meet* has:file"),
]


def percentile(values, p):
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def query(args):
    url = urllib.parse.urlparse(args.server)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)

    def call(method, path, body=None, token=None):
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        started = time.perf_counter()
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        response = conn.getresponse()
        data = response.read()
        return response.status, data, time.perf_counter() - started

    status, data, _ = call("POST", "/api/v1/sessions",
                           {"username": args.username, "password": args.password, "device_name": "search-bench"})
    if status != 201 and status != 200:
        sys.exit(f"login failed: {status} {data[:200]!r}")
    token = json.loads(data)["token"]
    day = 24 * 3600
    values = {"user": args.username, "conversation": args.conversation,
              "recent": time.strftime("%Y-%m-%d", time.gmtime(time.time() - 30 * day)),
              "old": time.strftime("%Y-%m-%d", time.gmtime(time.time() - 300 * day))}
    queries = [(cls, q.format(**values)) for cls, q in QUERIES]
    plan = [i for i in range(len(queries)) for _ in range(args.rounds)]
    random.Random(7).shuffle(plan)
    # One untimed pass: the first search of a word pulls its pages into the
    # page cache; the rounds measure a warm server.
    for cls, q in queries:
        call("GET", "/api/v1/search?" + urllib.parse.urlencode({"q": q}), token=token)
    times = {i: [] for i in range(len(queries))}
    statuses = {i: {} for i in range(len(queries))}
    hits = {}
    for i in plan:
        q = queries[i][1]
        status, data, seconds = call("GET", "/api/v1/search?" + urllib.parse.urlencode({"q": q}), token=token)
        times[i].append(seconds * 1000)
        statuses[i][status] = statuses[i].get(status, 0) + 1
        if status == 200:
            hits[i] = len(json.loads(data)["results"])
    result = {"rounds": args.rounds, "queries": [], "classes": {}}
    for i, (cls, q) in enumerate(queries):
        result["queries"].append({"class": cls, "q": q, "p50_ms": round(percentile(times[i], 50), 2),
                                  "p99_ms": round(percentile(times[i], 99), 2), "statuses": statuses[i],
                                  "results_on_first_page": hits.get(i)})
    for cls in dict.fromkeys(c for c, _ in queries):
        all_times = [t for i, (c, _) in enumerate(queries) if c == cls for t in times[i]]
        result["classes"][cls] = {"p50_ms": round(percentile(all_times, 50), 2),
                                  "p99_ms": round(percentile(all_times, 99), 2), "samples": len(all_times)}
    json.dump(result, sys.stdout, ensure_ascii=False)
    print()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("seed")
    s.add_argument("db")
    s.add_argument("--messages", type=int, required=True)
    s.add_argument("--purge-at", type=int, action="append", default=[])
    q = sub.add_parser("query")
    q.add_argument("--server", required=True)
    q.add_argument("--username", required=True)
    q.add_argument("--password", required=True)
    q.add_argument("--conversation", required=True)
    q.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    seed(args) if args.command == "seed" else query(args)


if __name__ == "__main__":
    main()
