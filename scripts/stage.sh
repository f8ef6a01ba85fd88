#!/usr/bin/env bash
# Runs one stage of a build and prints how long it took: scripts/stage.sh NAME COMMAND...
name=$1; shift
start=$(date +%s)
echo "=== stage: $name"
"$@"
status=$?
echo "=== stage: $name took $(( $(date +%s) - start )) s (exit $status)"
exit $status
