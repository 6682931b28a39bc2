package yaegihost

import (
	"os"
	"testing"
	"time"

	"github.com/traefik/yaegi/interp"
	"github.com/traefik/yaegi/stdlib"
)

func TestProbeParse(t *testing.T) {
	src, _ := os.ReadFile("/tmp/rprobe/main.go")
	i := interp.New(interp.Options{})
	_ = i.Use(stdlib.Symbols)
	if _, err := i.Eval(string(src)); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"ParseLoop", "SimpleLoop", "EncodeLoop", "LineLoop", "SliceLoop", "ValueLoop", "CopyLoop", "SwitchLoop", "FastBulk", "FastSimple", "ErrCmpLoop", "Encode2Loop", "TypeSwitchLoop"} {
		f, _ := i.Eval("main." + name)
		fn := f.Interface().(func(int) int)
		n := 20000
		start := time.Now()
		fn(n)
		t.Logf("%-10s %6.0f ns", name, float64(time.Since(start).Nanoseconds())/float64(n))
	}
}
