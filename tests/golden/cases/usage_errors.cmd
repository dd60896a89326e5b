$WEIR filter --format xml -r x.yaml; echo "rc=$?"
$WEIR filter; echo "rc=$?"
$WEIR frobnicate; echo "rc=$?"
$WEIR filter -r /nonexistent.yaml; echo "rc=$?"
