# Options the GNU way: --opt=value, -ovalue, bundled short flags, `--` ends
# the options; a usage mistake is one line pointing at --help.
r=tests/data/any_a.yaml
printf '{"a":1}\n{"b":"x"}\n' > "${TMPDIR:-/tmp}/-gnu.ndjson"
in="${TMPDIR:-/tmp}/-gnu.ndjson"
$WEIR filter --rules=$r --format=ids --threads=2 "$in"; echo "rc=$?"
$WEIR filter -r$r -fids -t2 "$in"; echo "rc=$?"
cd "${TMPDIR:-/tmp}" && $WEIR filter -r "$OLDPWD/$r" -fids -- -gnu.ndjson; echo "rc=$?"; cd "$OLDPWD"
$WEIR filter -qr $r -fids "$in" < /dev/null; echo "rc=$?"
$WEIR filter -qr$r -fids "$in"; echo "rc=$?"
$WEIR filter --quiet=yes -r $r "$in"; echo "rc=$?"
$WEIR filter -r $r --format; echo "rc=$?"
$WEIR filter -r $r --threads=0 "$in"; echo "rc=$?"
$WEIR filter -r $r --frobnicate "$in"; echo "rc=$?"
$WEIR bench -r $r; echo "rc=$?"
$WEIR check -x; echo "rc=$?"
$WEIR compile --output; echo "rc=$?"
rm -f "$in"
