# SIGTERM during `weir filter` on a stream that has gone quiet: what was
# matched is written (here the counts) before weir exits with 128 + 15.
t=$(mktemp -d) && trap 'rm -rf "$t"' EXIT
mkfifo "$t/in"
for threads in 1 2; do
  $WEIR filter --progress -r examples/workflow-service/rules.yaml -t $threads -f count \
    < "$t/in" > "$t/out" 2> "$t/err" &
  pid=$!
  exec 3> "$t/in"
  head -5 examples/workflow-service/events.ndjson >&3
  # The writer keeps the pipe open; the progress line says the lines were read.
  for i in $(seq 200); do [ -s "$t/err" ] && break; sleep 0.05; done
  kill -TERM $pid
  wait $pid; echo "threads $threads: rc=$?"
  exec 3>&-
  grep -v '	0$' "$t/out"
done
