# --progress draws a progress line on stderr (\r...ESC[K, a final newline)
# even when stderr is not a terminal; --no-progress and a non-terminal
# stderr draw none. Figures are blanked.
r=examples/workflow-service/rules.yaml
ev=examples/workflow-service/events.ndjson
$WEIR filter --progress -r $r -f count $ev 2>&1 >/dev/null | tr '\r' '\n' | sed -E 's/[0-9]+(\.[0-9]+)?/N/g; s/\x1b\[K/<EL>/g' | sort -u
$WEIR bench --progress -r $r $ev 2>&1 >/dev/null | tr '\r' '\n' | sed -E 's/[0-9]+(\.[0-9]+)?/N/g; s/\x1b\[K/<EL>/g' | sort -u
$WEIR filter --no-progress -r $r -f count $ev 2>&1 >/dev/null | wc -c
$WEIR filter -r $r -f count $ev 2>&1 >/dev/null | wc -c
