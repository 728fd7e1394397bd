#!/bin/bash
# usage: ab.sh script.tmp.ts rounds  — alternates /tmp/base and /work/main
S=$1; R=${2:-4}
cp /work/main/scratch/$S /tmp/base/scratch/$S
for i in $(seq $R); do
  for d in /tmp/base /work/main; do echo "$d: $(cd $d && /work/main/node_modules/.bin/node --import tsx scratch/$S | tr '\n' ' ')"; done
done
