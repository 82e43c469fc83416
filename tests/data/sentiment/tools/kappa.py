"""Cohen's kappa between two label columns, printing only aggregates (kappa, agreement, confusion matrix).

Usage:
  python kappa.py FILE_A COL_A FILE_B COL_B     # two CSVs joined on `id`
  python kappa.py FILE COL_A COL_B              # two columns of one CSV

Never prints row-level labels, so it can be run by someone who must stay blind to them.
"""
import csv
import sys
from collections import Counter

CLASSES = ("positive", "negative", "neutral")


def load(path, col):
    with open(path, newline="") as f:
        return {r["id"]: r[col] for r in csv.DictReader(f)}


def kappa(a, b):
    n = len(a)
    po = sum(x == y for x, y in zip(a, b, strict=True)) / n
    ca, cb = Counter(a), Counter(b)
    pe = sum(ca[c] * cb[c] for c in CLASSES) / (n * n)
    return po, (po - pe) / (1 - pe)


def main(argv):
    if len(argv) == 4:
        da, db = load(argv[0], argv[1]), load(argv[2], argv[3])
        names = (f"{argv[0]}:{argv[1]}", f"{argv[2]}:{argv[3]}")
    elif len(argv) == 3:
        da, db = load(argv[0], argv[1]), load(argv[0], argv[2])
        names = (argv[1], argv[2])
    else:
        sys.exit(__doc__)
    if set(da) != set(db):
        sys.exit("id sets differ")
    ids = sorted(da)
    a, b = [da[i] for i in ids], [db[i] for i in ids]
    po, k = kappa(a, b)
    print(f"n={len(ids)} agreement={po:.3f} kappa={k:.3f}")
    print(f"rows: {names[0]}; columns: {names[1]}")
    print(f"{'':>10}" + "".join(f"{c:>10}" for c in CLASSES))
    m = Counter(zip(a, b, strict=True))
    for r in CLASSES:
        print(f"{r:>10}" + "".join(f"{m[(r, c)]:>10}" for c in CLASSES))


if __name__ == "__main__":
    main(sys.argv[1:])
