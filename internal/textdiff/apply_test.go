package textdiff

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

func TestUnifiedDiffCases(t *testing.T) {
	lines := func(ls ...string) []byte {
		if len(ls) == 0 {
			return nil
		}
		return []byte(strings.Join(ls, "\n") + "\n")
	}
	tests := []struct {
		name string
		a, b []byte
		want string
	}{
		{
			name: "equal inputs give no diff",
			a:    lines("a", "b"),
			b:    lines("a", "b"),
			want: "",
		},
		{
			name: "a changed line in the middle shows three lines of context each side",
			a:    lines("1", "2", "3", "4", "5", "6", "7", "8", "9"),
			b:    lines("1", "2", "3", "4", "X", "6", "7", "8", "9"),
			want: "--- a\n+++ b\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+X\n 6\n 7\n 8\n",
		},
		{
			name: "a line added at the start",
			a:    lines("1", "2"),
			b:    lines("0", "1", "2"),
			want: "--- a\n+++ b\n@@ -1,2 +1,3 @@\n+0\n 1\n 2\n",
		},
		{
			name: "a line removed at the end",
			a:    lines("1", "2", "3"),
			b:    lines("1", "2"),
			want: "--- a\n+++ b\n@@ -1,3 +1,2 @@\n 1\n 2\n-3\n",
		},
		{
			name: "from nothing every line is added and the old range is 0,0",
			a:    nil,
			b:    lines("x", "y"),
			want: "--- a\n+++ b\n@@ -0,0 +1,2 @@\n+x\n+y\n",
		},
		{
			name: "changes more than six lines apart make two hunks",
			a:    lines("1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"),
			b:    lines("A", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "B"),
			want: "--- a\n+++ b\n@@ -1,4 +1,4 @@\n-1\n+A\n 2\n 3\n 4\n@@ -9,4 +9,4 @@\n 9\n 10\n 11\n-12\n+B\n",
		},
		{
			name: "changes six lines apart share one hunk",
			a:    lines("1", "2", "3", "4", "5", "6", "7", "8"),
			b:    lines("A", "2", "3", "4", "5", "6", "7", "B"),
			want: "--- a\n+++ b\n@@ -1,8 +1,8 @@\n-1\n+A\n 2\n 3\n 4\n 5\n 6\n 7\n-8\n+B\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Unified("a", "b", string(tt.a), string(tt.b)); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// TestUnifiedDiffApplies checks on random inputs that applying the diff to
// a gives b and that the hunk headers count their lines.
func TestUnifiedDiffApplies(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		a := randomLines(r)
		b := mutate(r, a)
		d := Unified("a", "b", string(join(a)), string(join(b)))
		got, err := applyUnified(a, d)
		if err != nil {
			t.Fatalf("case %d: %v\na=%q\nb=%q\ndiff:\n%s", i, err, a, b, d)
		}
		if strings.Join(got, "\n") != strings.Join(b, "\n") {
			t.Fatalf("case %d: patched a = %q, want %q\ndiff:\n%s", i, got, b, d)
		}
	}
}

func TestUnifiedDiffOfALargeRewriteApplies(t *testing.T) {
	// Every line differs: one large hunk that must still apply.
	var a, b []string
	for i := range 2100 {
		a = append(a, "a"+strconv.Itoa(i))
		b = append(b, "b"+strconv.Itoa(i))
	}
	d := Unified("a", "b", string(join(a)), string(join(b)))
	got, err := applyUnified(a, d)
	if err != nil || strings.Join(got, "\n") != strings.Join(b, "\n") {
		t.Fatalf("diff does not apply: %v", err)
	}
}

func randomLines(r *rand.Rand) []string {
	n := r.IntN(30)
	ls := make([]string, n)
	for i := range ls {
		ls[i] = string(rune('a' + r.IntN(5)))
	}
	return ls
}

func mutate(r *rand.Rand, a []string) []string {
	b := append([]string(nil), a...)
	for range r.IntN(6) {
		switch k := r.IntN(3); {
		case k == 0 && len(b) > 0:
			i := r.IntN(len(b))
			b = append(b[:i], b[i+1:]...)
		case k == 1:
			i := r.IntN(len(b) + 1)
			b = append(b[:i], append([]string{string(rune('a' + r.IntN(7)))}, b[i:]...)...)
		case len(b) > 0:
			b[r.IntN(len(b))] = string(rune('a' + r.IntN(7)))
		}
	}
	return b
}

func join(ls []string) []byte {
	if len(ls) == 0 {
		return nil
	}
	return []byte(strings.Join(ls, "\n") + "\n")
}

// applyUnified is a strict patch: context and removed lines must match,
// and each hunk's counts must match its body.
func applyUnified(a []string, d string) ([]string, error) {
	if d == "" {
		return a, nil
	}
	ls := strings.Split(strings.TrimSuffix(d, "\n"), "\n")
	if len(ls) < 2 || ls[0] != "--- a" || ls[1] != "+++ b" {
		return nil, fmt.Errorf("bad header")
	}
	var out []string
	pos := 0 // next line of a to copy
	i := 2
	for i < len(ls) {
		var as, ac, bs, bc int
		if _, err := fmt.Sscanf(normHeader(ls[i]), "@@ -%d,%d +%d,%d @@", &as, &ac, &bs, &bc); err != nil {
			return nil, fmt.Errorf("bad hunk header %q: %v", ls[i], err)
		}
		i++
		start := as - 1
		if ac == 0 {
			start = as
		}
		if start < pos {
			return nil, fmt.Errorf("hunks overlap at %q", ls[i-1])
		}
		out = append(out, a[pos:start]...)
		pos = start
		var na, nb int
		for i < len(ls) && !strings.HasPrefix(ls[i], "@@") {
			l := ls[i]
			switch l[0] {
			case ' ', '-':
				if pos >= len(a) || a[pos] != l[1:] {
					return nil, fmt.Errorf("line %d of a is not %q", pos+1, l[1:])
				}
				if l[0] == ' ' {
					out = append(out, l[1:])
					nb++
				}
				pos++
				na++
			case '+':
				out = append(out, l[1:])
				nb++
			default:
				return nil, fmt.Errorf("bad line %q", l)
			}
			i++
		}
		if na != ac || nb != bc {
			return nil, fmt.Errorf("hunk counts -%d +%d, body has -%d +%d", ac, bc, na, nb)
		}
	}
	return append(out, a[pos:]...), nil
}

// normHeader expands "-5" to "-5,1" so one Sscanf format reads all headers.
func normHeader(h string) string {
	f := strings.Fields(h)
	if len(f) != 4 {
		return h
	}
	for _, k := range []int{1, 2} {
		if !strings.Contains(f[k], ",") {
			f[k] += ",1"
		}
	}
	return strings.Join(f, " ")
}
