"""Teacher-request throughput of `mixdistill generate` against a local OpenAI-protocol server.

    .venv/bin/python bench/generate.py [--requests 2000] [--concurrency 64] [--latency 0.1]

The server (tests/openai_server.py, in its own process) answers every request after ``latency``
seconds. The client is generate's own pipeline (the openai teacher, verification of every
completion, appending to raw.jsonl). Reported: requests/s against the ideal concurrency/latency,
and a sequential client (concurrency 1) measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from openai_server import OpenAIServer, Script  # noqa: E402

from mixdistill_plugin.executor import Executor  # noqa: E402
from mixdistill_plugin.generate import RunFiles, ask  # noqa: E402
from mixdistill_plugin.records import Question  # noqa: E402
from mixdistill_plugin.teachers import Request, Sampling  # noqa: E402
from mixdistill_plugin.teachers.openai_chat import OpenAITeacher  # noqa: E402


def serve(latency: float, ready) -> None:
    server = OpenAIServer(Script(latency=latency, default="Adding up gives 2 + 2 = 4. The answer is 4."))
    ready.put(server.base_url)
    server.serve_forever()


def measure(base_url: str, n: int, concurrency: int, executor: Executor) -> float:
    questions = [Question(id=f"q{i}", question=f"What is {i} plus 4 minus {i}?", answer=4, source="bench")
                 for i in range(n)]
    requests = [Request(q, "cot", (0,)) for q in questions]
    teacher = OpenAITeacher("bench", base_url, concurrency=concurrency, retries=0)
    with tempfile.TemporaryDirectory() as tmp:
        files = RunFiles(Path(tmp))
        got = []
        start = time.perf_counter()
        asyncio.run(ask(teacher, requests, Sampling(shots=4), files, executor, 1e-4, lambda r, lines: got.append(r)))
        seconds = time.perf_counter() - start
        assert len(got) == n and all(not r.error for r in got), "some requests failed"
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--sequential", type=int, default=50, help="requests for the sequential client")
    args = parser.parse_args()
    ready = multiprocessing.Queue()
    server = multiprocessing.Process(target=serve, args=(args.latency, ready), daemon=True)
    server.start()
    base_url = ready.get(timeout=30)
    try:
        with Executor() as executor:
            measure(base_url, 20, 8, executor)  # warm up connections and imports
            concurrent = args.requests / measure(base_url, args.requests, args.concurrency, executor)
            sequential = args.sequential / measure(base_url, args.sequential, 1, executor)
    finally:
        server.terminate()
    ideal = args.concurrency / args.latency
    print(f"{args.requests} requests, concurrency {args.concurrency}, server latency {args.latency * 1000:.0f} ms")
    print(f"{'client':<28}{'requests/s':>12}{'vs ideal':>10}{'vs sequential':>15}")
    print(f"{'generate (concurrent)':<28}{concurrent:>12.1f}{concurrent / ideal:>10.2f}{concurrent / sequential:>14.1f}x")
    print(f"{'sequential (concurrency 1)':<28}{sequential:>12.1f}{sequential / ideal:>10.3f}{1:>14.1f}x")
    print(f"ideal = concurrency / latency = {ideal:.0f} requests/s; target >= 0.8 of it: "
          f"{'met' if concurrent / ideal >= 0.8 else 'NOT met'}")


if __name__ == "__main__":
    main()
