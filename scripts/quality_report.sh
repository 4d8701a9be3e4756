#!/bin/sh
# Quality of every reference method beside the product's default, in one run, on one benchmark.
#   scripts/quality_report.sh [BENCHMARK_DIR] [extra healthmatch eval options, e.g. --lead coordinator]
# Prints one JSON object per method (recall@10/50/100, ndcg@20, mrr, ceiling, seconds).
# The first run embeds the corpus (about 10 minutes on 2 cores); later runs read the cache.
set -eu
DIR=${1:-../shared/benchmarks/cordis-he}
[ $# -gt 0 ] && shift
for method in tfidf tfidf-prior popularity dense hybrid; do
    healthmatch eval "$DIR" --method "$method" --json "$@"
done
