# weir compile: a compiled rule file filters like its source, keeps ${NAME}
# unexpanded (the secret is looked up when the file is read), and is refused
# when damaged or mixed with rule files.
t=$(mktemp -d) && trap 'rm -rf "$t"' EXIT
ex=examples/arcgis-portal-webhooks
norm() { sed "s#$t#TMP#g; s/in [0-9.]* ms/in N ms/; s/: [0-9]* bytes/: N bytes/"; }
$WEIR compile --help
$WEIR compile $ex/rules.yaml -o "$t/rules.weir" | norm
grep -c golden-secret "$t/rules.weir"
$WEIR filter -r "$t/rules.weir" --format ids $ex/events.ndjson > "$t/compiled.out"; echo "filter: $?"
$WEIR filter -r $ex/rules.yaml --format ids $ex/events.ndjson | cmp - "$t/compiled.out" && echo "same output as the rule file"
$WEIR check "$t/rules.weir" | norm
(unset HOOK_SECRET; $WEIR check "$t/rules.weir" 2>&1 | norm; exit "${PIPESTATUS[0]}"); echo "unset variable: $?"
$WEIR check "$t/rules.weir" examples/workflow-service/rules.yaml 2>&1 | norm; echo "mixed: ${PIPESTATUS[0]}"
head -c 200 "$t/rules.weir" > "$t/cut.weir"
$WEIR filter -r "$t/cut.weir" $ex/events.ndjson 2>&1 | norm; echo "truncated: ${PIPESTATUS[0]}"
$WEIR compile $ex/rules.yaml 2>&1; echo "no -o: $?"
$WEIR compile examples/arcgis-portal-webhooks/bad-rules.yaml -o "$t/bad.weir" 2>&1 | tail -n 1; ls "$t/bad.weir" 2>&1 | norm
cp $ex/rules.yaml "$t/src.yaml"
$WEIR compile "$t/src.yaml" -o "$t/src.yaml" 2>&1 | norm; echo "onto its source: ${PIPESTATUS[0]}"; cmp -s $ex/rules.yaml "$t/src.yaml" && echo "source untouched"
# The same rules give the same bytes in every process (hash tables iterate in
# a per-process order; a path with 7 lengths of "*lit*" goes to the automaton).
{ echo 'rules:'; for w in a ab abc abcd abcde abcdef abcdefg; do
    echo "  - {id: i-$w, pattern: {x: [{wildcard: \"*$w*\"}]}}"; done; } > "$t/infix.yaml"
for i in 1 2 3 4; do $WEIR compile "$t/infix.yaml" -o "$t/infix$i.weir" >/dev/null; done
cmp "$t/infix1.weir" "$t/infix2.weir" && cmp "$t/infix1.weir" "$t/infix3.weir" && cmp "$t/infix1.weir" "$t/infix4.weir" && echo "compiled four times: the same bytes"
