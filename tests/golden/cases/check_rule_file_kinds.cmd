# Rule files that are not plain files: read once from a pipe (nothing is lost
# to telling a compiled file from a rule file), and a directory, a missing
# file or an endless device is one line naming it, exit 2.
t=$(mktemp -d) && trap 'rm -rf "$t"' EXIT
ex=examples/workflow-service/rules.yaml
norm() { sed "s#$t#TMP#g; s/in [0-9.]* ms/in N ms/"; }
$WEIR check /dev/stdin < $ex | norm
cat $ex | $WEIR check /dev/stdin | norm
$WEIR check <(cat $ex) | norm
$WEIR compile $ex -o "$t/rules.weir" > /dev/null
cat "$t/rules.weir" | $WEIR check /dev/stdin | norm
$WEIR check tests/data; echo "directory: $?"
$WEIR check /nonexistent.yaml tests/data; echo "missing: $?"
$WEIR check /dev/zero; echo "endless: $?"
