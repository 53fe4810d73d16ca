#!/usr/bin/env bash
# Opens the benchmark's report.html in headless Chromium, from the file alone (no server, no
# network): the page logs no console error, its tables hold a row per method, and every figure
# is laid out at a readable size and draws (non-white pixels inside each figure's box of a
# screenshot). The harness checks itself first: a page with a script error must be caught, and a
# page whose figures are blanked must fail the pixel check. Skipped (exit 77) only when chromium
# is not installed.
. "$(dirname "${BASH_SOURCE[0]}")/../support/cli.sh" bench-html
if ! command -v chromium >/dev/null 2>&1; then
  echo "SKIP: chromium is not installed (apt-get install chromium; scripts/setup.sh does), so report.html was not opened in a browser"
  exit 77
fi
command -v python3 >/dev/null 2>&1 || { echo "FAIL: python3 is needed to read the screenshot"; exit 1; }
cd "$T" || exit 1

# browser OUT_LOG ARGS... : one headless Chromium call with a fresh profile.
browser() {
  local log=$1; shift
  local prof; prof=$(mktemp -d "$T/profile.XXXXXX")
  timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$prof" --enable-logging=stderr --v=0 --force-device-scale-factor=1 \
    --hide-scrollbars "$@" 2>"$log"
}

# Four classes in 6 dimensions; two methods, two seeds: 4 figures (2 summaries, 2 matrices).
awk 'BEGIN { srand(5); for (i = 0; i < 160; i++) { c = i % 4; row = "";
       for (j = 0; j < 6; j++) { v = rand() * 0.3; if (j == c) v += 1; row = row (j ? "," : "") sprintf("%.4f", v) }
       print row > "x.csv"; print c > "y.csv" } }'
"$KENYON" bench --train-x x.csv --train-y y.csv --test-x x.csv --test-y y.csv \
  --methods fly:m=200:c=3,fly-ridge:m=200:c=3 --seeds 1,2 --out out --quiet ||
  { echo "FAIL: kenyon bench did not run"; exit 1; }
[ -s out/report.html ] || { echo "FAIL: no report.html"; exit 1; }
n_fig=$(grep -c "<figure" out/report.html)
[ "$n_fig" -eq 4 ] || fail "report.html holds $n_fig figures, expected 4"

# A probe copy measures the page as laid out: every figure's box and drawn elements, the table
# rows, the page height. The report itself carries no script.
probe='<script>window.addEventListener("load",function(){var f=[];document.querySelectorAll("figure").forEach(function(g){var s=g.querySelector("svg");var b=s?s.getBoundingClientRect():{left:0,top:0,width:0,height:0};f.push([Math.round(b.left),Math.round(b.top+window.scrollY),Math.round(b.width),Math.round(b.height),s?s.querySelectorAll("path,use,rect").length:0].join(" "))});var rows=document.querySelectorAll("table tbody tr").length;document.body.setAttribute("data-probe","rows="+rows+";height="+document.documentElement.scrollHeight+";figs="+f.join(","))});</script>'
sed "s|</body>|$probe</body>|" out/report.html >out/probe.html

# 0. The harness catches a console error.
printf '<!DOCTYPE html><html><body><p>x</p><script>no_such_function();</script></body></html>' >bad.html
browser bad.log --dump-dom "file://$T/bad.html" >/dev/null
grep -q ":CONSOLE" bad.log || fail "the harness does not see a page's console error; its checks would pass anything"

# 1. The report itself: no console message at all (no error, no failed load).
browser page.log --dump-dom "file://$T/out/report.html" >dom.html
grep ":CONSOLE" page.log && fail "report.html logs to the console (above)"
grep -q "<table" dom.html || fail "the browser's DOM of report.html has no table"

# 2. Layout: two tables of 2 methods each, every figure at least 400 x 250 px with drawing.
browser probe.log --window-size=1100,1000 --dump-dom "file://$T/out/probe.html" >probe_dom.html
line=$(grep -o 'data-probe="[^"]*"' probe_dom.html | head -1)
[ -n "$line" ] || { echo "FAIL: the probe did not run: $(grep -v dbus probe.log | tail -3)"; exit 1; }
rows=$(sed 's/.*rows=\([0-9]*\).*/\1/' <<<"$line")
height=$(sed 's/.*height=\([0-9]*\).*/\1/' <<<"$line")
figs=$(sed 's/.*figs=\([^"]*\)".*/\1/' <<<"$line")
[ "$rows" -eq 4 ] || fail "the tables have $rows body rows, expected 4 (2 tables x 2 methods)"
IFS=, read -r -a boxes <<<"$figs"
[ "${#boxes[@]}" -eq 4 ] || fail "the probe measured ${#boxes[@]} figures, expected 4"
for b in "${boxes[@]}"; do
  read -r x y w h n <<<"$b"
  { [ "$w" -ge 400 ] && [ "$h" -ge 250 ] && [ "$n" -ge 10 ]; } || fail "a figure is laid out at ${w}x${h} px with $n drawn elements"
done

# 3. Pixels: a screenshot of the whole page; inside every figure's box at least 2% of the pixels
# are not white (axes, labels, curves), and the table area is not blank either.
cat >count.py <<'PY'
import struct, sys, zlib
# Reads an 8-bit RGB/RGBA, non-interlaced PNG (what Chromium writes) and prints, for each box
# "x y w h" given on the command line, the fraction of pixels that are not near-white.
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, W, H, ctype = 8, b"", 0, 0, 0
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        W, H, depth, ctype, _, _, inter = struct.unpack(">IIBBBBB", body)
        assert depth == 8 and ctype in (2, 6) and inter == 0, "unsupported PNG"
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
bpp = 4 if ctype == 6 else 3
raw = zlib.decompress(idat)
stride = W * bpp
rows, prev = [], bytearray(stride)
for y in range(H):
    f = raw[y * (stride + 1)]
    line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    if f == 1:
        for i in range(bpp, stride): line[i] = (line[i] + line[i - bpp]) & 255
    elif f == 2:
        for i in range(stride): line[i] = (line[i] + prev[i]) & 255
    elif f == 3:
        for i in range(stride): line[i] = (line[i] + ((line[i - bpp] if i >= bpp else 0) + prev[i]) // 2) & 255
    elif f == 4:
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0; b = prev[i]; c = prev[i - bpp] if i >= bpp else 0
            p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    rows.append(line)
    prev = line
print("size", W, H)
for box in sys.argv[2:]:
    x, y, w, h = (int(v) for v in box.split())
    dark = total = 0
    for yy in range(max(0, y), min(H, y + h), 2):
        r = rows[yy]
        for xx in range(max(0, x), min(W, x + w), 2):
            total += 1
            if min(r[xx * bpp], r[xx * bpp + 1], r[xx * bpp + 2]) < 200: dark += 1
    print("%.4f" % (dark / total if total else 0))
PY
browser shot.log --window-size=1100,"$height" --screenshot="$T/shot.png" "file://$T/out/report.html" >/dev/null
[ -s shot.png ] || { echo "FAIL: no screenshot: $(grep -v dbus shot.log | tail -3)"; exit 1; }
args=("0 0 1100 400")
for b in "${boxes[@]}"; do read -r x y w h n <<<"$b"; args+=("$x $y $w $h"); done
out=$(python3 count.py shot.png "${args[@]}") || fail "cannot read the screenshot"
read -r _ sw sh <<<"$(head -1 <<<"$out")"
{ [ "$sw" -eq 1100 ] && [ "$sh" -ge 2000 ]; } || fail "screenshot is ${sw}x${sh}, expected 1100 wide and the page's height ($height)"
i=0
while read -r frac; do
  awk -v f="$frac" 'BEGIN { exit !(f >= 0.02) }' || fail "region $i (${args[$i]}) is blank in the screenshot: $frac of its pixels drawn"
  i=$((i + 1))
done < <(tail -n +2 <<<"$out")
[ $i -eq 5 ] || fail "measured $i regions, expected 5"
[ -n "${KEEP_SHOT:-}" ] && cp shot.png "$KEEP_SHOT"

# 4. The pixel check can fail: the same page with its figures' drawings removed.
sed 's|<svg|<svg style="visibility:hidden"|' out/report.html >out/blank.html
b=${boxes[0]}; read -r x y w h n <<<"$b"
browser blank.log --window-size=1100,$((y + h)) --screenshot="$T/blank.png" "file://$T/out/blank.html" >/dev/null
frac=$(python3 count.py blank.png "$x $y $w $h" | tail -1)
awk -v f="$frac" 'BEGIN { exit !(f < 0.02) }' || fail "a page with hidden figures passes the pixel check ($frac)"

kt_finish "report.html renders in headless Chromium: no console errors, 2 tables, 4 figures"
