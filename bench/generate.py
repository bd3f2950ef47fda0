"""Throughput of `mixdistill generate --teacher openai` as the user sees it, against a local server.

    .venv/bin/python bench/generate.py [--requests 2000 20000] [--concurrency 64] [--latency 0.1]

The server (tests/openai_server.py, in its own process) answers every request after ``latency``
seconds. The client is the installed `mixdistill generate` command itself, run as a subprocess on a
file of ``requests`` questions (one CoT sample each, progress bar on), at each run size: its whole
wall time, and the rate its ``stats.json`` reports (requests while asking, from the first request
sent to the last reply; its start-up, imports included, is reported beside it). Both against the
ideal concurrency / latency, and against the same command at concurrency 1, measured in the same
run. The start-up is a fixed cost, so the whole command comes nearer the ideal as the run grows.
Then 4 samples per question from a server that honours ``n`` (one request per question) and from
one that ignores it (llama.cpp, Ollama: the command falls back to one request per sample). Last,
1, 2 and 4 replicas of the server (``--base-url`` repeated), each in its own process with
``concurrency`` in flight: the rate against the replicas' ideal sum, the requests each served, and
the CPU the client and the servers spent (where the cores are all busy, the machine is the limit),
and the floor: a bare aiohttp client posting the same bodies to the same servers with as many in
flight and doing nothing else (no retries, records or progress bar), in its own process; the most a
one-process Python client gets from these servers on this machine. At the most replicas, the same
requests again as ``--shards`` `generate --shard I/N` processes at once (the route past one process's
CPU): their requests over their shared asking window, and their wall clock.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from openai_server import OpenAIServer, Script  # noqa: E402
from procstat import process_stat  # noqa: E402

MIXDISTILL = Path(sys.executable).parent / "mixdistill"


def serve(latency: float, honour_n: bool, ready) -> None:
    server = OpenAIServer(Script(latency=latency, honour_n=honour_n,
                                 default="Adding up gives 2 + 2 = 4. The answer is 4."))
    ready.put(server.base_url)
    server.serve_forever()


def start_server(latency: float, honour_n: bool = True) -> tuple[multiprocessing.Process, str]:
    ready = multiprocessing.Queue()
    process = multiprocessing.Process(target=serve, args=(latency, honour_n, ready), daemon=True)
    process.start()
    return process, ready.get(timeout=30)


def question(i: int) -> str:
    """The bench's ``i``-th question (its answer is 4)."""
    return f"What is {i} plus 4 minus {i}?"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (Linux /proc)."""
    stat = process_stat(pid)
    return stat["utime"] + stat["stime"]


def bare_client(urls: list[str], questions: int, concurrency: int, result) -> None:
    """The floor: ``questions`` POSTs of the registry's CoT prompt spread over ``urls``, ``concurrency``
    in flight, over one aiohttp session; puts the requests a second (after the bodies are built)."""
    import aiohttp

    from mixdistill_plugin.prompts import chat_messages, get_kind
    from mixdistill_plugin.teachers import Sampling

    sampling = Sampling()  # generate's defaults: the same few-shot prompt, so the same bytes each way
    bodies = [{"model": "bench", "messages": chat_messages("cot", question(i), shots=sampling.shots),
               "temperature": sampling.temperature, "max_tokens": sampling.max_tokens, "stop": list(get_kind("cot").stop)}
              for i in range(questions)]

    async def run() -> float:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            todo = iter(enumerate(bodies))

            async def worker() -> None:
                for i, body in todo:
                    async with session.post(f"{urls[i % len(urls)]}/chat/completions", json=body) as response:
                        assert json.loads(await response.read())["choices"]

            start = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            return questions / (time.perf_counter() - start)

    result.put(asyncio.run(run()))


def floor(urls: list[str], questions: int, concurrency: int) -> float:
    result = multiprocessing.Queue()
    process = multiprocessing.Process(target=bare_client, args=(urls, questions, concurrency, result))
    process.start()
    rate = result.get(timeout=600)
    process.join()
    return rate


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def command(base_url: str | list[str], questions: int, concurrency: int, samples: int = 1,
            servers: tuple[int, ...] = (), shards: int = 1) -> dict:
    """Run `mixdistill generate` once: its wall time, its stats.json, and the CPU seconds it and the
    server processes ``servers`` (pids) spent. With ``shards`` > 1, that many `generate --shard I/N`
    processes at once, ``concurrency`` shared among them; their stats.json taken together: the
    requests over the window from the first one's first request to the last one's last reply."""
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "questions.jsonl"
        data.write_text("".join(json.dumps({"id": f"q{i}", "question": question(i), "answer": 4}) + "\n" for i in range(questions)))
        urls = [base_url] if isinstance(base_url, str) else base_url
        cmd = [str(MIXDISTILL), "generate", "--teacher", "openai", "--model", "bench",
               *(arg for url in urls for arg in ("--base-url", url)), "--dataset", str(data), "--cot-samples", str(samples), "--pot-samples", "0",
               "--concurrency", str(concurrency // shards)]
        outs = [Path(tmp) / f"out{i}" for i in range(shards)]
        before = children_cpu(), sum(cpu_seconds(pid) for pid in servers)
        start = time.perf_counter()
        procs = [subprocess.Popen([*cmd, "--out", str(out), *(("--shard", f"{i}/{shards}") if shards > 1 else ())],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for i, out in enumerate(outs)]
        ends = [proc.communicate() for proc in procs]
        wall = time.perf_counter() - start
        client_cpu = children_cpu() - before[0]
        server_cpu = sum(cpu_seconds(pid) for pid in servers) - before[1]
        for proc, (stdout, stderr) in zip(procs, ends):
            if proc.returncode != 0:
                raise SystemExit(f"mixdistill generate failed:\n{stdout}\n{stderr}")
        every = [json.loads((out / "stats.json").read_text()) for out in outs]
    assert all(stats["complete"] for stats in every) and sum(s["completions"] for s in every) == questions * samples
    stats = every[0] if shards == 1 else together(every)
    return {"wall": wall, "stats": stats, "client_cpu": client_cpu, "server_cpu": server_cpu}


def together(every: list[dict]) -> dict:
    """The stats of shards run at once, as one run's: requests a second over their shared asking window."""
    runs = [stats["run"] for stats in every]
    window = (max(r["startup_seconds"] + r["asking_seconds"] for r in runs) - min(r["startup_seconds"] for r in runs))
    return {"run": {"requests_per_second": sum(r["requests"] for r in runs) / window}}


def cpu() -> str:
    try:
        names = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                 if line.startswith("model name")]
    except OSError:
        names = []
    return f"{os.cpu_count()} x {names[0]}" if names else f"{os.cpu_count()} cores"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, nargs="+", default=[2000, 20000],
                        help="run sizes (questions, one request each)")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--sequential", type=int, default=50, help="requests for the concurrency-1 baseline")
    parser.add_argument("--n-questions", type=int, default=500, help="questions for the 4-samples rows")
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2, 4],
                        help="replica counts for the replica rows (each its own server process)")
    parser.add_argument("--replica-requests", type=int, default=4000, help="requests of each replica row")
    parser.add_argument("--shards", type=int, default=2,
                        help="at the most replicas, also this many `--shard I/N` processes at once (1: not run)")
    args = parser.parse_args()
    ideal = args.concurrency / args.latency
    server, base_url = start_server(args.latency)
    try:
        command(base_url, 20, 8)  # warm the page cache and the server
        runs = {n: command(base_url, n, args.concurrency) for n in args.requests}
        sequential = command(base_url, args.sequential, 1)
        with_n = command(base_url, args.n_questions, args.concurrency, samples=4)
    finally:
        server.terminate()
    server, base_url = start_server(args.latency, honour_n=False)
    try:
        without_n = command(base_url, args.n_questions, args.concurrency, samples=4)
    finally:
        server.terminate()

    replicas, floors = {}, {}
    for count in args.replicas:  # concurrency per replica as above, so the ideal is the sum of the replicas'
        servers = [start_server(args.latency) for _ in range(count)]
        urls, pids = [url for _, url in servers], tuple(process.pid for process, _ in servers)
        try:
            replicas[count] = command(urls, args.replica_requests, args.concurrency * count, servers=pids)
            floors[count] = floor(urls, args.replica_requests, args.concurrency * count)
            if count == max(args.replicas) and args.shards > 1:
                sharded = command(urls, args.replica_requests, args.concurrency * count, shards=args.shards,
                                  servers=pids)
        finally:
            for process, _ in servers:
                process.terminate()

    base = args.sequential / sequential["wall"]
    print(f"{cpu()}; concurrency {args.concurrency}, server latency {args.latency * 1000:.0f} ms; "
          f"ideal = concurrency / latency = {ideal:.0f} requests/s")
    print(f"{'mixdistill generate, 1 CoT sample a question':<48}{'requests/s':>11}{'vs ideal':>10}{'vs sequential':>15}")
    for n, run in runs.items():
        for what, rate in (("stats.json requests_per_second", run["stats"]["run"]["requests_per_second"]),
                           ("whole command, wall clock", n / run["wall"])):
            print(f"{f'{n} requests: {what}':<48}{rate:>11.1f}{rate / ideal:>10.2f}{rate / base:>14.1f}x")
    print(f"{f'{args.sequential} requests at concurrency 1: whole command':<48}{base:>11.1f}{base / ideal:>10.3f}"
          f"{1:>14.1f}x")
    for n, run in runs.items():
        r = run["stats"]["run"]
        print(f"{n} requests: {r['startup_seconds']:.2f}s from the command's start to its first request, "
              f"{r['asking_seconds']:.2f}s asking, {run['wall'] - r['startup_seconds'] - r['asking_seconds']:.2f}s "
              "besides (Python start-up before the command, the outputs and exit after)")
    print(f"{f'4 samples x {args.n_questions} questions':<48}{'samples/s':>11}{'requests':>10}")
    for name, result in (("server honours n", with_n), ("server ignores n (one request a sample)", without_n)):
        rate = result["stats"]["run"]["completions_per_second"]
        print(f"{'  ' + name:<48}{rate:>11.1f}{result['stats']['run']['requests']:>10}")
    largest = max(runs)
    stats_met = all(run["stats"]["run"]["requests_per_second"] >= 0.8 * ideal for run in runs.values())
    whole_met = largest / runs[largest]["wall"] >= 0.8 * ideal
    print(f"target >= 0.8 of ideal: stats.json at every size {'met' if stats_met else 'NOT met'}; "
          f"the whole command at {largest} requests {'met' if whole_met else 'NOT met'}")
    print(f"{f'{args.replica_requests} requests over replicas':<48}{'requests/s':>11}{'vs ideal':>10}{'per replica':>15}")
    for count, result in replicas.items():
        rate = result["stats"]["run"]["requests_per_second"]
        spread = "/".join(str(c["requests"]) for c in result["stats"]["run"].get("replicas", {}).values()) or "-"
        print(f"{f'  {count} x {args.concurrency} in flight (stats.json)':<48}{rate:>11.1f}{rate / (ideal * count):>10.2f}"
              f"  {spread:>13}")
        whole = args.replica_requests / result["wall"]
        print(f"{f'  {count} x {args.concurrency} in flight (whole command)':<48}{whole:>11.1f}"
              f"{whole / (ideal * count):>10.2f}")
        print(f"{f'  {count} x {args.concurrency} in flight (bare aiohttp floor)':<48}{floors[count]:>11.1f}"
              f"{floors[count] / (ideal * count):>10.2f}  stats.json {rate / floors[count]:.2f}x floor")
    if args.shards > 1:
        count = max(args.replicas)
        for what, rate in (("stats.json", sharded["stats"]["run"]["requests_per_second"]),
                           ("whole command", args.replica_requests / sharded["wall"])):
            print(f"{f'  {count} x {args.concurrency} in flight, {args.shards} shards ({what})':<48}{rate:>11.1f}"
                  f"{rate / (ideal * count):>10.2f}")
    print("CPU a request (the client's includes its start-up) and how busy the cores were over the whole command:")
    rows = [(f"{count} replica(s)", result) for count, result in replicas.items()]
    if args.shards > 1:
        rows.append((f"{max(args.replicas)} replicas, {args.shards} shards", sharded))
    for name, result in rows:
        client, server = (1000 * result[key] / args.replica_requests for key in ("client_cpu", "server_cpu"))
        busy = (result["client_cpu"] + result["server_cpu"]) / (os.cpu_count() * result["wall"])
        print(f"  {name}: client {client:.2f} ms, servers {server:.2f} ms; cores busy {100 * busy:.0f}%")


if __name__ == "__main__":
    main()
