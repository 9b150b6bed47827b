package grafana

import (
	"bytes"
	"fmt"
	"strings"
)

// diffContext is the number of unchanged lines shown around a change, as
// in diff -u.
const diffContext = 3

// maxLCSCells bounds the LCS table (rows × columns of the differing middle
// part); beyond it the middle is shown as removed then added, which is
// still a correct diff, only a longer one.
const maxLCSCells = 4 << 20

type opKind byte

const (
	opEqual  opKind = ' '
	opDelete opKind = '-'
	opInsert opKind = '+'
)

type diffOp struct {
	kind opKind
	line string
}

// UnifiedDiff returns a unified diff (diff -u format) from a to b, labelled
// with the two names, or "" when they are equal. Lines are compared whole;
// a missing final newline is not reported.
func UnifiedDiff(aName, bName string, a, b []byte) string {
	if bytes.Equal(a, b) {
		return ""
	}
	ops := diffLines(splitLines(a), splitLines(b))
	var out strings.Builder
	fmt.Fprintf(&out, "--- %s\n+++ %s\n", aName, bName)
	// Walk the ops, emitting each hunk: a run of changes with up to
	// diffContext equal lines around it; changes closer than 2×context
	// share a hunk.
	i := 0
	aLine, bLine := 1, 1 // line numbers at ops[i]
	for i < len(ops) {
		if ops[i].kind == opEqual {
			i++
			aLine++
			bLine++
			continue
		}
		// ops[i] is the first change of a hunk.
		start := max(i-diffContext, 0)
		for j := start; j < i; j++ { // rewind to the context's line numbers
			aLine--
			bLine--
		}
		end := i
		for end < len(ops) {
			if ops[end].kind != opEqual {
				end++
				continue
			}
			run := end
			for run < len(ops) && ops[run].kind == opEqual {
				run++
			}
			if run == len(ops) || run-end > 2*diffContext {
				end = min(end+diffContext, len(ops))
				break
			}
			end = run
		}
		var aCount, bCount int
		for _, op := range ops[start:end] {
			if op.kind != opInsert {
				aCount++
			}
			if op.kind != opDelete {
				bCount++
			}
		}
		fmt.Fprintf(&out, "@@ -%s +%s @@\n", hunkRange(aLine, aCount), hunkRange(bLine, bCount))
		for _, op := range ops[start:end] {
			out.WriteByte(byte(op.kind))
			out.WriteString(op.line)
			out.WriteByte('\n')
		}
		aLine += aCount
		bLine += bCount
		i = end
	}
	return out.String()
}

// hunkRange formats a hunk's start,count the way diff -u does: an empty
// range starts at the line before it.
func hunkRange(start, count int) string {
	switch count {
	case 0:
		return fmt.Sprintf("%d,0", start-1)
	case 1:
		return fmt.Sprintf("%d", start)
	}
	return fmt.Sprintf("%d,%d", start, count)
}

func splitLines(b []byte) []string {
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// diffLines is a longest-common-subsequence line diff. The common prefix
// and suffix are taken out first, so a dashboard with a few changed lines
// costs a small table whatever its size.
func diffLines(a, b []string) []diffOp {
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	ops := make([]diffOp, 0, len(a)+len(b))
	for _, l := range a[:pre] {
		ops = append(ops, diffOp{opEqual, l})
	}
	ops = append(ops, lcsOps(a[pre:len(a)-suf], b[pre:len(b)-suf])...)
	for _, l := range a[len(a)-suf:] {
		ops = append(ops, diffOp{opEqual, l})
	}
	return ops
}

func lcsOps(a, b []string) []diffOp {
	n, m := len(a), len(b)
	var ops []diffOp
	if n*m > maxLCSCells {
		for _, l := range a {
			ops = append(ops, diffOp{opDelete, l})
		}
		for _, l := range b {
			ops = append(ops, diffOp{opInsert, l})
		}
		return ops
	}
	// t[i][j] is the LCS length of a[i:] and b[j:].
	w := m + 1
	t := make([]int32, (n+1)*w)
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				t[i*w+j] = t[(i+1)*w+j+1] + 1
			} else {
				t[i*w+j] = max(t[(i+1)*w+j], t[i*w+j+1])
			}
		}
	}
	i, j := 0, 0
	for i < n && j < m {
		switch {
		case a[i] == b[j]:
			ops = append(ops, diffOp{opEqual, a[i]})
			i++
			j++
		case t[(i+1)*w+j] >= t[i*w+j+1]:
			ops = append(ops, diffOp{opDelete, a[i]})
			i++
		default:
			ops = append(ops, diffOp{opInsert, b[j]})
			j++
		}
	}
	for ; i < n; i++ {
		ops = append(ops, diffOp{opDelete, a[i]})
	}
	for ; j < m; j++ {
		ops = append(ops, diffOp{opInsert, b[j]})
	}
	return ops
}
