"""Where the peer's time goes: a py-spy raw profile summarised by the layer each sample's leaf belongs to.

    bench/.venv-quix/bin/py-spy record -r 100 -f raw -o /tmp/peer.raw -- \
        env PYTHONPATH=. bench/.venv-quix/bin/python -m bench.quix_peer.app --bootstrap 127.0.0.1:49092
    python -m bench.quix_peer.spy /tmp/peer.raw
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

# (layer, substring of a frame); each sample goes to the innermost frame that names a layer.
LAYERS = (
    ("Quix copies of a value for each branch (pickle)", "quixstreams/utils/pickle.py"),
    ("state values pickled / unpickled (RocksDBOptions dumps, loads)", "pickle_"),
    ("events pickled across the re-keying topics", "Pickle"),
    ("our rules (atp/domain)", "atp/domain/"),
    ("our decoders (connectors)", "connectors/"),
    ("pydantic (reservation model)", "pydantic"),
    ("Quix state (transactions, RocksDB)", "quixstreams/state/"),
    ("Kafka produce / consume (Quix wrappers, buffering, librdkafka)", "quixstreams/kafka/"),
    ("Kafka produce / consume (Quix wrappers, buffering, librdkafka)", "quixstreams/internal_"),
    ("Kafka produce / consume (Quix wrappers, buffering, librdkafka)", "confluent_kafka"),
    ("Quix serializers, topics, rows", "quixstreams/models/"),
    ("Quix dataframe, stream functions, app loop", "quixstreams/"),
    ("the peer's glue (bench/quix_peer)", "bench/quix_peer/"),
)
WATCHER = "_watch (bench/quix_peer/app.py"  # the thread that decides when to stop: it sleeps


def layer_of(stack: str) -> str:
    """The layer of the innermost frame that belongs to a known layer (else 'other')."""
    frames = stack.split(";")
    for frame in reversed(frames):
        for layer, marker in LAYERS:
            if marker in frame:
                return layer
    return "other (interpreter, threads idle)"


def summarise(path: Path) -> list[tuple[str, int]]:
    counts: Counter[str] = Counter()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit() and WATCHER not in stack:
            counts[layer_of(stack)] += int(count)
    return counts.most_common()


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not Path(argv[0]).is_file():
        print("usage: python -m bench.quix_peer.spy PROFILE.raw (a py-spy raw profile)", file=sys.stderr)
        return 2
    rows = summarise(Path(argv[0]))
    total = sum(n for _, n in rows) or 1
    for layer, samples in rows:
        print(f"{100 * samples / total:5.1f}%  {samples:7d}  {layer}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
