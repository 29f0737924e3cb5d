#!/bin/sh
# One demo job: squares its argument, as a stand-in for a small simulation.
n="$1"
echo "job for seed $n ran on $(hostname) in $(pwd)"
echo "$n squared is $((n * n))" > result.txt
