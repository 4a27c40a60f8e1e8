"""The baseline binance-listen is compared with: the thread-per-symbol listener from Binance
threading tutorials. Per symbol, a websocket-client thread reads frames into an unbounded
queue.Queue, and a processor thread parses each one, sleeps --delay, and prints a
normalized JSON line. Only `cargo bench --bench bench -- python` runs it; it needs
websocket-client (the bench installs it into target/pybench).

Accepts the subset of binance-listen's flags the bench uses; others are ignored.
"""

import argparse
import json
import queue
import sys
import threading
import time

import websocket

OUTPUT_LOCK = threading.Lock()


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--delay", action="append", default=[])
    parser.add_argument("--max-messages", type=int)
    parser.add_argument("--duration")
    # Flags of binance-listen the baseline has no use for.
    parser.add_argument("--config")
    parser.add_argument("--overflow")
    parser.add_argument("-q", action="count")
    parser.add_argument("symbols", nargs="+")
    args, _unknown = parser.parse_known_args()
    return args


def seconds(text):
    for unit, factor in (("ms", 1e-3), ("us", 1e-6), ("s", 1.0), ("m", 60.0)):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * factor
    return float(text)


def reader(symbol, endpoint, frames, stop):
    ws = websocket.create_connection(f"{endpoint}/ws/{symbol.lower()}@trade")
    ws.settimeout(0.5)
    while not stop.is_set():
        try:
            payload = ws.recv()
        except websocket.WebSocketTimeoutException:
            continue
        except Exception:
            break
        frames.put((payload, time.time()))
    ws.close()


def processor(symbol, frames, delay, limit, stop, done):
    written = 0
    while not stop.is_set():
        try:
            payload, received = frames.get(timeout=0.5)
        except queue.Empty:
            continue
        trade = json.loads(payload)
        if delay:
            time.sleep(delay)
        line = json.dumps(
            {
                "symbol": symbol,
                "stream": "trade",
                "trade_id": trade["t"],
                "price": trade["p"],
                "qty": trade["q"],
                "buyer_maker": trade["m"],
                "trade_time": trade["T"],
                "event_time": trade["E"],
                "recv_time_us": int(received * 1e6),
            },
            separators=(",", ":"),
        )
        with OUTPUT_LOCK:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
        written += 1
        if limit and written >= limit:
            break
    done.release()


def main():
    args = parse_args()
    delays = {}
    for spec in args.delay:
        symbol, _, duration = spec.rpartition("=")
        delays[symbol.upper() or "*"] = seconds(duration)
    stop = threading.Event()
    done = threading.Semaphore(0)
    symbols = list(dict.fromkeys(symbol.upper() for symbol in args.symbols))
    for symbol in symbols:
        frames = queue.Queue()
        delay = delays.get(symbol, delays.get("*", 0.0))
        threading.Thread(target=reader, args=(symbol, args.endpoint, frames, stop), daemon=True).start()
        threading.Thread(
            target=processor, args=(symbol, frames, delay, args.max_messages, stop, done), daemon=True
        ).start()
    deadline = time.time() + seconds(args.duration) if args.duration else None
    finished = 0
    try:
        while finished < len(symbols):
            timeout = None if deadline is None else max(0.0, deadline - time.time())
            if not done.acquire(timeout=timeout):
                break
            finished += 1
    except KeyboardInterrupt:
        pass
    stop.set()


if __name__ == "__main__":
    main()
