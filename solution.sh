lo=1; hi=1000
while :; do
  mid=$(( (lo + hi) / 2 )); echo $mid
  read answer || exit 0
  case $answer in higher) lo=$((mid + 1));; lower) hi=$((mid - 1));; correct) exit 0;; esac
done
