# --errors gets each bad line whole and verbatim: a line over the size limit
# (which is not buffered) and a bad CRLF line with its CR; on 1 and 2 threads,
# from a file and a pipe.
t=$(mktemp -d) && trap 'rm -rf "$t"' EXIT
{
  printf '{"a":1}\n'
  printf '{"a":"%s"}\n' "$(head -c 300000 /dev/zero | tr '\0' x)"
  printf '{"a":\r\n'
  printf '{"b":"x"}\r\n'
  printf '{"a":"%s"}\r\n' "$(head -c 70 /dev/zero | tr '\0' y)"
  printf '[1]'
} > "$t/in.ndjson"
grep -v '^{"a":1}$' "$t/in.ndjson" | grep -v '^{"b":"x"}' > "$t/want"
for threads in 1 2; do
  $WEIR filter -q -r tests/data/any_a.yaml --max-event-bytes 64 -t $threads -f ids --errors "$t/e1" "$t/in.ndjson" 2>"$t/err"; echo "file, $threads threads: rc=$?"
  sed "s#$t#TMP#g" "$t/err"
  cmp "$t/want" "$t/e1" && echo "errors file: the bad lines, whole"
  cat "$t/in.ndjson" | $WEIR filter -q -r tests/data/any_a.yaml --max-event-bytes 64 -t $threads -f ids --errors "$t/e2" 2>"$t/err"; echo "pipe, $threads threads: rc=$?"
  cat "$t/err"
  cmp "$t/want" "$t/e2" && echo "errors file: the bad lines, whole"
done
