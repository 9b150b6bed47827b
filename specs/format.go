package specs

import (
	"math"
	"strconv"
)

// The one formatter of numbers for humans: alert annotations, runbooks,
// dashboard descriptions and test names write a threshold the same way,
// and the way Prometheus' humanize functions write the observed value next
// to it ("7.5%", "500ms", "1.5s"). PromQL literals use promNum, which
// keeps every digit.

// FormatNumber writes v to four significant digits, without an exponent
// or float noise: 0.07*100 → "7", 0.075 → "0.075", 997.4874 → "997.5".
func FormatNumber(v float64) string {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	r, err := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 4, 64), 64)
	if err != nil {
		r = v
	}
	return strconv.FormatFloat(r, 'f', -1, 64)
}

// FormatPercent writes a 0–1 share as a percentage: 0.1 → "10%".
func FormatPercent(share float64) string { return FormatNumber(share*100) + "%" }

// FormatSeconds writes seconds as Prometheus' humanizeDuration writes
// short durations: 0.5 → "500ms", 1 → "1s", 30 → "30s".
func FormatSeconds(s float64) string {
	if s < 1 {
		return FormatNumber(s*1000) + "ms"
	}
	return FormatNumber(s) + "s"
}

// FormatFactor writes a multiplier: 2 → "2×".
func FormatFactor(f float64) string { return FormatNumber(f) + "×" }
