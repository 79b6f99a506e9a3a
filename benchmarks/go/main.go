// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// The Go peer of qtchannel-bench: W1, W2, W3, W7 and W7c with Go's channels, written the way
// Go code is written (for range over a channel the producer closes; a WaitGroup to close
// after the last producer; select, with nil for a closed channel's case). Prints the same
// RESULT line as qtchannel-bench's runs.
//
//	qtchannel-bench-go W1|W2|W3|W3-unbuffered|W7|W7c SIZE
//	qtchannel-bench-go version
package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

const capacity = 1024

type sample struct{ items, sent, received int64 }

// W1: one producer goroutine, one consumer goroutine; the producer closes.
func spsc(n int64) sample {
	ch := make(chan int, capacity)
	var sent, received int64
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		var sum int64
		for v := range ch {
			sum += int64(v)
		}
		received = sum
	}()
	go func() {
		defer wg.Done()
		var sum int64
		for i := int64(1); i <= n; i++ {
			ch <- int(i)
			sum += i
		}
		close(ch)
		sent = sum
	}()
	wg.Wait()
	return sample{n, sent, received}
}

// W2: two producers, two consumers; closed once both producers are done.
func mpmc(n int64) sample {
	ch := make(chan int, capacity)
	var sent, received [2]int64
	var producers, consumers sync.WaitGroup
	producers.Add(2)
	consumers.Add(2)
	for c := 0; c < 2; c++ {
		go func(c int) {
			defer consumers.Done()
			var sum int64
			for v := range ch {
				sum += int64(v)
			}
			received[c] = sum
		}(c)
	}
	for p := 0; p < 2; p++ {
		first := int64(p)*(n/2) + 1
		last := n / 2
		if p == 1 {
			last = n
		}
		go func(p int, first, last int64) {
			defer producers.Done()
			var sum int64
			for i := first; i <= last; i++ {
				ch <- int(i)
				sum += i
			}
			sent[p] = sum
		}(p, first, last)
	}
	producers.Wait()
	close(ch)
	consumers.Wait()
	return sample{n, sent[0] + sent[1], received[0] + received[1]}
}

// W3: ping sends 1..rounds and waits for each echo.
func pingpong(rounds int64, buffer int) sample {
	there := make(chan int, buffer)
	back := make(chan int, buffer)
	var received int64
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for v := range there {
			back <- v
		}
	}()
	go func() {
		defer wg.Done()
		var sum int64
		for i := int64(1); i <= rounds; i++ {
			there <- int(i)
			sum += int64(<-back)
		}
		close(there)
		received = sum
	}()
	wg.Wait()
	return sample{rounds, rounds * (rounds + 1) / 2, received}
}

// W7: two producers on two channels, one consumer selecting over both until both are closed
// (a closed channel's case is switched off by setting it to nil, as Go code does).
func fanIn(n int64) sample {
	a := make(chan int, capacity)
	b := make(chan int, capacity)
	var sent [2]int64
	var received int64
	var wg sync.WaitGroup
	wg.Add(3)
	produce := func(ch chan int, p int, first, last int64) {
		defer wg.Done()
		var sum int64
		for i := first; i <= last; i++ {
			ch <- int(i)
			sum += i
		}
		close(ch)
		sent[p] = sum
	}
	go func() {
		defer wg.Done()
		var sum int64
		ca, cb := a, b
		for ca != nil || cb != nil {
			select {
			case v, ok := <-ca:
				if !ok {
					ca = nil
					continue
				}
				sum += int64(v)
			case v, ok := <-cb:
				if !ok {
					cb = nil
					continue
				}
				sum += int64(v)
			}
		}
		received = sum
	}()
	go produce(a, 0, 1, n/2)
	go produce(b, 1, n/2+1, n)
	wg.Wait()
	return sample{n, sent[0] + sent[1], received}
}

// W7c: a worker takes jobs until a stop command comes, then the jobs still buffered.
func jobOrStop(n int64) sample {
	jobs := make(chan int, capacity)
	stop := make(chan struct{}, 1)
	var sent, received int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var sum int64
	loop:
		for {
			select {
			case v := <-jobs:
				sum += int64(v)
			case <-stop:
				break loop
			}
		}
		for {
			select {
			case v := <-jobs:
				sum += int64(v)
				continue
			default:
			}
			break
		}
		received = sum
	}()
	for i := int64(1); i <= n; i++ {
		jobs <- int(i)
		sent += i
	}
	stop <- struct{}{}
	wg.Wait()
	return sample{n, sent, received}
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

func statusKb(field string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if strings.HasPrefix(s.Text(), field) {
			parts := strings.Fields(s.Text())
			v, _ := strconv.ParseInt(parts[1], 10, 64)
			return v
		}
	}
	return -1
}

func main() {
	if len(os.Args) == 2 && os.Args[1] == "version" {
		fmt.Println("Go " + strings.TrimPrefix(runtime.Version(), "go"))
		return
	}
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: qtchannel-bench-go W1|W2|W3|W3-unbuffered|W7|W7c SIZE | version")
		os.Exit(2)
	}
	n, err := strconv.ParseInt(os.Args[2], 10, 64)
	if err != nil || n <= 0 {
		fmt.Fprintln(os.Stderr, "qtchannel-bench-go: bad size")
		os.Exit(2)
	}
	var run func() sample
	switch os.Args[1] {
	case "W1":
		run = func() sample { return spsc(n) }
	case "W2":
		run = func() sample { return mpmc(n) }
	case "W3":
		run = func() sample { return pingpong(n, 1) }
	case "W3-unbuffered":
		run = func() sample { return pingpong(n, 0) }
	case "W7":
		run = func() sample { return fanIn(n) }
	case "W7c":
		run = func() sample { return jobOrStop(n) }
	default:
		fmt.Fprintln(os.Stderr, "qtchannel-bench-go: unknown workload", os.Args[1])
		os.Exit(2)
	}

	rssBefore := statusKb("VmRSS:")
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	mallocs0 := ms.Mallocs
	cpu0 := cpuSeconds()
	t0 := time.Now()
	s := run()
	seconds := time.Since(t0).Seconds()
	cpu := cpuSeconds() - cpu0
	runtime.ReadMemStats(&ms)
	allocs := ms.Mallocs - mallocs0
	hwm := statusKb("VmHWM:")

	fmt.Printf("RESULT items=%d sent=%d received=%d seconds=%.9f cpu=%.6f allocs=%d rss_before_kb=%d hwm_kb=%d\n",
		s.items, s.sent, s.received, seconds, cpu, allocs, rssBefore, hwm)
	if s.sent != s.received {
		fmt.Fprintf(os.Stderr, "qtchannel-bench-go: %s: SUM MISMATCH: sent %d, received %d\n",
			os.Args[1], s.sent, s.received)
		os.Exit(3)
	}
}
