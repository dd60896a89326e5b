# A write that fails is an error that names the file: a full disk, a closed
# standard output; exit 2.
r=examples/workflow-service/rules.yaml
ev=examples/workflow-service/events.ndjson
$WEIR filter -r $r $ev > /dev/full; echo "full: rc=$?"
$WEIR filter -r $r -t 2 $ev > /dev/full; echo "full, 2 threads: rc=$?"
$WEIR filter -r $r -f count $ev > /dev/full; echo "count: rc=$?"
$WEIR filter -r $r $ev >&-; echo "closed: rc=$?"
$WEIR check $r > /dev/full; echo "check: rc=$?"
$WEIR filter --help >&-; echo "help: rc=$?"
$WEIR filter -r tests/data/any_a.yaml --errors /dev/full tests/data/bad_lines.ndjson > /dev/null; echo "errors file: rc=$?"
