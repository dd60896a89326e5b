# An output that would replace an input is refused, by device and inode
# (another name and a symlink too), before anything is written.
t=$(mktemp -d) && trap 'rm -rf "$t"' EXIT
norm() { sed "s#$t#TMP#g"; }
cp examples/workflow-service/events.ndjson "$t/in.ndjson"
cp examples/workflow-service/rules.yaml "$t/rules.yaml"
ln -s in.ndjson "$t/link.ndjson"
ln -s rules.yaml "$t/rules-link.yaml"
$WEIR filter -r "$t/rules.yaml" --errors "$t/in.ndjson" "$t/in.ndjson" 2>&1 | norm; echo "rc=${PIPESTATUS[0]}"
$WEIR filter -r "$t/rules.yaml" --errors "$t/link.ndjson" "$t/in.ndjson" 2>&1 | norm; echo "rc=${PIPESTATUS[0]}"
$WEIR filter -r "$t/rules.yaml" --errors="$t/rules-link.yaml" "$t/in.ndjson" 2>&1 | norm; echo "rc=${PIPESTATUS[0]}"
$WEIR filter -r "$t/rules.yaml" --errors "$t/in.ndjson" < "$t/in.ndjson" 2>&1 | norm; echo "rc=${PIPESTATUS[0]}"
$WEIR compile "$t/rules.yaml" -o "$t/rules-link.yaml" 2>&1 | norm; echo "rc=${PIPESTATUS[0]}"
$WEIR filter -r "$t/rules.yaml" -f ids "$t/in.ndjson" >> "$t/in.ndjson" 2> "$t/err"; echo "rc=$?"; norm < "$t/err"
cmp -s examples/workflow-service/events.ndjson "$t/in.ndjson" && echo "input untouched"
cmp -s examples/workflow-service/rules.yaml "$t/rules.yaml" && echo "rules untouched"
