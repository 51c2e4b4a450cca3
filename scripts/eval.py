#!/usr/bin/env python3
"""Thresher beside trafilatura on every corpus set, in one run.

Run through `scripts/eval`, which prepares the venv and the binary. For each
`<corpus>/<set>/` holding `truth.jsonl` and `<id>.html`:

1. `thresher clean --urls LIST --out DIR <set>/*.html` (one process, each page
   with its own URL from the truth), timed as a whole;
2. trafilatura's `bare_extraction` (comments off, metadata on, the page URL
   given) on the same pages in this process, timed the same way;
3. both folders scored by `../shared/eval/score.py` (word F1, junk, repeated
   titles) and, where the truth has them, `meta_score.py`'s rules for date,
   author and title (right / wrong / missing);
4. one table, then per set the 10 pages where Thresher is furthest behind.

The pages of `wcxb-dev` whose id ends in 8 or 9 are a held-out check: they
count in the set's row and again as a row of their own, but are never listed
one by one.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import unicodedata

HELD_OUT_SET = "wcxb-dev"


def held_out(set_name, page_id):
    return set_name == HELD_OUT_SET and page_id[-1:] in ("8", "9")


def load_truth(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def run_thresher(binary, set_dir, rows, out_dir):
    with tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False) as urls:
        for row in rows:
            if row.get("url"):
                urls.write(f"{row['id']}\t{row['url']}\n")
    files = [os.path.join(set_dir, f"{row['id']}.html") for row in rows]
    start = time.perf_counter()
    done = subprocess.run([binary, "clean", "--urls", urls.name, "--out", out_dir, *files],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - start
    os.unlink(urls.name)
    failures = [line for line in done.stderr.splitlines() if line.startswith("thresher: ")]
    return seconds, failures


def run_trafilatura(set_dir, rows, out_dir):
    import trafilatura  # only inside the venv

    os.makedirs(out_dir, exist_ok=True)
    start = time.perf_counter()
    for row in rows:
        with open(os.path.join(set_dir, f"{row['id']}.html"), "rb") as f:
            html = f.read().decode("utf-8", errors="replace")
        doc = trafilatura.bare_extraction(html, url=row.get("url"), include_comments=False,
                                          with_metadata=True)
        if doc is None or not doc.text:
            continue
        with open(os.path.join(out_dir, f"{row['id']}.json"), "w", encoding="utf-8") as f:
            json.dump({"text": doc.text, "title": doc.title, "author": doc.author,
                       "published_at": doc.date}, f, ensure_ascii=False)
    return time.perf_counter() - start


def score(score_py, truth_path, pred_dir):
    out = subprocess.run([sys.executable, score_py, "--truth", truth_path, "--pred", pred_dir,
                          "--json", "--per-page"], check=True, capture_output=True, text=True)
    doc = json.loads(out.stdout)
    return doc["totals"], {p["id"]: p for p in doc["pages"]}


def norm(s):
    return re.sub(r"\W+", " ", unicodedata.normalize("NFKC", s or "").casefold()).strip()


def meta_counts(rows, pred_dir):
    """meta_score.py's rules, counted per field: [pages, right, wrong, missing]."""
    counts = {k: [0, 0, 0, 0] for k in ("date", "author", "title")}
    for row in rows:
        try:
            with open(os.path.join(pred_dir, f"{row['id']}.json"), encoding="utf-8") as f:
                pred = json.load(f)
        except (OSError, ValueError):
            pred = {}
        authors = pred.get("authors")
        got = {
            "author": ", ".join(authors) if isinstance(authors, list) else (authors or pred.get("author") or ""),
            "date": pred.get("published_at") or pred.get("date") or "",
            "title": pred.get("title") or "",
        }
        for field, truth in (("date", row.get("published")), ("author", row.get("author")),
                             ("title", row.get("title"))):
            if not truth:
                continue
            c = counts[field]
            c[0] += 1
            value = got[field]
            if not value:
                c[3] += 1
                continue
            if field == "date":
                ok = value[:10] == truth[:10]
            elif field == "author":
                t, n = norm(truth), norm(value)
                ok = bool(n) and (t in n or n in t)
            else:
                ok = norm(value) == norm(truth)
            c[1 if ok else 2] += 1
    return counts


def repeated_paragraph_pages(rows, pred_dir, min_words=12):
    """Pages where a paragraph of min_words words or more is in `text` more often than in the truth."""
    pages = 0
    for row in rows:
        try:
            with open(os.path.join(pred_dir, f"{row['id']}.json"), encoding="utf-8") as f:
                text = json.load(f).get("text") or ""
        except (OSError, ValueError):
            continue
        body = " ".join(norm(row.get("body")).split())
        seen = {}
        for para in text.split("\n\n"):
            key = " ".join(norm(para).split())
            if len(key.split()) >= min_words:
                seen[key] = seen.get(key, 0) + 1
        if any(n > 1 and n > body.count(key) for key, n in seen.items()):
            pages += 1
    return pages


def subset_totals(pages, ids):
    chosen = [pages[i] for i in ids if i in pages]
    n = len(chosen)
    mean = lambda k: sum(p[k] for p in chosen) / n if n else 0.0
    f1s = sorted(p["f1"] for p in chosen)
    median = (f1s[n // 2] if n % 2 else (f1s[n // 2 - 1] + f1s[n // 2]) / 2) if n else 0.0
    return {"pages": n, "missing": sum(p["missing"] for p in chosen), "f1": mean("f1"),
            "f1_median": median, "precision": mean("precision"), "recall": mean("recall"),
            "junk_pages": sum(1 for p in chosen if p["junk"]),
            "title_repeats": sum(1 for p in chosen if (p["title_count"] or 0) > 1
                                 and p["title_count"] > (p.get("title_count_truth") or 0))}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--thresher", required=True, help="the thresher binary")
    ap.add_argument("--corpus", default=os.path.join(here, "..", "..", "shared", "corpus"))
    ap.add_argument("--eval", default=None, help="folder of score.py [default: <corpus>/../eval]")
    ap.add_argument("--sets", default=None, help="comma-separated set names [default: all]")
    ap.add_argument("--keep", default=None, help="write the outputs here (else a temp folder)")
    ap.add_argument("--no-trafilatura", action="store_true", help="score Thresher only")
    ap.add_argument("--worst", type=int, default=10)
    a = ap.parse_args()

    corpus = os.path.abspath(a.corpus)
    score_py = os.path.join(a.eval or os.path.join(corpus, "..", "eval"), "score.py")
    sets = sorted(d for d in os.listdir(corpus)
                  if os.path.isfile(os.path.join(corpus, d, "truth.jsonl")))
    if a.sets:
        wanted = a.sets.split(",")
        unknown = set(wanted) - set(sets)
        if unknown:
            sys.exit(f"eval: no such set under {corpus}: {', '.join(sorted(unknown))}")
        sets = [s for s in sets if s in wanted]
    work = a.keep or tempfile.mkdtemp(prefix="thresher-eval-")
    tools = ["thresher"] + ([] if a.no_trafilatura else ["trafilatura"])

    table, worst, meta, notes = [], {}, [], []
    for name in sets:
        set_dir = os.path.join(corpus, name)
        truth_path = os.path.join(set_dir, "truth.jsonl")
        rows = load_truth(truth_path)
        results = {}
        for tool in tools:
            out_dir = os.path.join(work, tool, name)
            if tool == "thresher":
                seconds, failures = run_thresher(a.thresher, set_dir, rows, out_dir)
                for line in failures:
                    stem = os.path.splitext(os.path.basename(line.split(": ")[1]))[0]
                    hidden = held_out(name, stem)
                    notes.append(f"{name}: (a held-out page)" if hidden else f"{name}: {line}")
            else:
                seconds = run_trafilatura(set_dir, rows, out_dir)
            totals, pages = score(score_py, truth_path, out_dir)
            results[tool] = (totals, pages, out_dir)
            para = repeated_paragraph_pages(rows, out_dir)
            row = subset_totals(pages, [r["id"] for r in rows])
            row.update(set=name, tool=tool, pages_per_s=len(rows) / seconds, para_repeats=para,
                       titled=totals["pages_with_title"])
            table.append(row)
            if name == HELD_OUT_SET:
                ids = [r["id"] for r in rows if held_out(name, r["id"])]
                held = subset_totals(pages, ids)
                held.update(set=f"{name}(*8,*9)", tool=tool, pages_per_s=None, para_repeats=None,
                            titled=None)
                table.append(held)
            if any(r.get("published") or r.get("author") for r in rows) or any(r.get("title") for r in rows):
                meta.append((name, tool, meta_counts(rows, out_dir)))
        if "trafilatura" in results:
            ours, theirs = results["thresher"][1], results["trafilatura"][1]
            gaps = [(theirs[i]["f1"] - ours[i]["f1"], i) for i in ours
                    if not held_out(name, i) and i in theirs]
            worst[name] = [(i, ours[i], theirs[i]) for gap, i in sorted(gaps, reverse=True)[:a.worst]
                           if gap > 0]

    head = (f"{'set':<16} {'tool':<11} {'pages':>5} {'F1 mean':>7} {'F1 med':>6} {'P':>6} {'R':>6} "
            f"{'miss':>4} {'junk_pg':>7} {'title_rep':>9} {'para_rep':>8} {'pages/s':>7}")
    print(head)
    print("-" * len(head))
    for r in table:
        speed = f"{r['pages_per_s']:7.1f}" if r["pages_per_s"] else f"{'':>7}"
        para = f"{r['para_repeats']:>8}" if r["para_repeats"] is not None else f"{'':>8}"
        print(f"{r['set']:<16} {r['tool']:<11} {r['pages']:>5} {r['f1']:>7.3f} {r['f1_median']:>6.3f} "
              f"{r['precision']:>6.3f} {r['recall']:>6.3f} {r['missing']:>4} {r['junk_pages']:>7} "
              f"{r['title_repeats']:>9} {para} {speed}")

    if meta:
        print()
        print(f"{'set':<16} {'tool':<11} {'field':<7} {'pages':>5} {'right':>5} {'wrong':>5} {'miss':>5} {'acc':>6}")
        for name, tool, counts in meta:
            for field, (n, right, wrong, missing) in counts.items():
                if n:
                    print(f"{name:<16} {tool:<11} {field:<7} {n:>5} {right:>5} {wrong:>5} {missing:>5} "
                          f"{right / n:6.3f}")

    for name, pages in worst.items():
        print(f"\n{name}: the {len(pages)} pages where Thresher is furthest behind trafilatura"
              + (" (held-out ids not listed)" if name == HELD_OUT_SET else ""))
        for page_id, ours, theirs in pages:
            flag = "  no article" if ours["missing"] else ""
            print(f"  {page_id:<44} thresher F1 {ours['f1']:.3f} (P {ours['precision']:.3f} "
                  f"R {ours['recall']:.3f})  trafilatura {theirs['f1']:.3f}{flag}")
    if notes:
        print(f"\nthresher found no article in {len(notes)} page(s):")
        for line in notes:
            print(f"  {line}")
    print(f"\noutputs: {work}")


if __name__ == "__main__":
    main()
