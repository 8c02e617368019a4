package cache

import "hash/maphash"

// keySet remembers which keys a SCAN has returned. It keeps 64-bit hashes,
// not the keys, so a million keys cost tens of megabytes rather than a
// hundred; two keys sharing a hash is too unlikely to count.
type keySet struct {
	seed maphash.Seed
	m    map[uint64]struct{}
}

func newKeySet() *keySet {
	return &keySet{seed: maphash.MakeSeed(), m: map[uint64]struct{}{}}
}

// fresh returns the keys not seen before, in order, and marks them seen. It
// reuses the backing array of keys.
func (s *keySet) fresh(keys []string) []string {
	out := keys[:0]
	for _, k := range keys {
		h := maphash.String(s.seed, k)
		if _, ok := s.m[h]; ok {
			continue
		}
		s.m[h] = struct{}{}
		out = append(out, k)
	}
	return out
}
