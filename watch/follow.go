package watch

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// maxLinks bounds the symbolic links followed in one resolution, as the
// kernel's ELOOP does.
const maxLinks = 40

// chain is what the path resolves to now, step by step. A Kubernetes
// ConfigMap mounts instances.yaml -> ..data/instances.yaml with ..data a
// link swapped by rename, and an operator may re-point a link or replace a
// directory: every name on the way is one whose change changes the content.
type chain struct {
	// names are the cleaned absolute paths whose events matter: the path,
	// every directory and link visited on the way, and where it ends.
	names map[string]bool
	// dirs are the directories, free of links, that hold the links and
	// where the path ends: watching them sees every change of names that
	// are not themselves watched directories.
	dirs map[string]bool
	// final is the file the path resolves to, or the first name on the
	// way that is missing (or cannot be looked into).
	final   string
	missing bool
}

// resolve walks abs one name at a time, as the kernel does, recording each
// link and the directories holding them. A missing name ends the walk: its
// directory, the nearest one that exists, is watched for its creation.
func resolve(abs string) chain {
	c := chain{names: map[string]bool{abs: true}, dirs: map[string]bool{}}
	cur := string(filepath.Separator)
	rest := split(abs)
	for links := 0; len(rest) > 0; {
		part := rest[0]
		rest = rest[1:]
		switch part {
		case "", ".":
			continue
		case "..":
			cur = filepath.Dir(cur) // cur holds no links, so this is the kernel's ".."
			continue
		}
		p := filepath.Join(cur, part)
		c.names[p] = true
		fi, err := os.Lstat(p)
		if err != nil || links > maxLinks {
			// Missing, or not to be looked into (EACCES, ENOTDIR, a loop):
			// its directory is where a fix would show.
			c.dirs[cur] = true
			c.final, c.missing = p, true
			return c
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			cur = p
			continue
		}
		target, err := os.Readlink(p)
		if err != nil {
			c.dirs[cur] = true
			c.final, c.missing = p, true
			return c
		}
		links++
		c.dirs[cur] = true
		if filepath.IsAbs(target) {
			cur = string(filepath.Separator)
		}
		rest = append(split(target), rest...)
	}
	c.names[cur] = true
	c.dirs[filepath.Dir(cur)] = true
	c.final = cur
	return c
}

func split(path string) []string {
	return strings.Split(path, string(filepath.Separator))
}

// dirID identifies a directory across renames: a directory replaced by
// another of the same name has another one.
type dirID struct{ dev, ino uint64 }

func statDir(dir string) (dirID, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return dirID{}, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return dirID{}, errors.New("no inode")
	}
	return dirID{dev: uint64(st.Dev), ino: uint64(st.Ino)}, nil
}

// follow resolves the path again and makes the directories watched those
// of what it resolves to now, and the templates directory. It is called
// after every event that matters, so that the next step of a swap is seen,
// and at every resync, for what no watched directory could tell (an
// ancestor further up replaced). A directory replaced under its name (a
// new inode) is watched again; one that is gone gives way to the nearest
// existing directory on the way. Every change of the set is logged.
func (w *Watcher) follow() {
	c := resolve(w.abs)
	w.chain = c
	if w.fsw == nil {
		return // events are fed by a test
	}
	want := maps.Clone(c.dirs)
	if w.tmplDir != "" {
		want[w.tmplDir] = true
	}
	// fsnotify drops the watch of a directory moved or deleted itself.
	live := map[string]bool{}
	for _, dir := range w.fsw.WatchList() {
		live[dir] = true
	}
	changed := false
	for _, dir := range slices.Sorted(maps.Keys(w.watched)) {
		now, err := statDir(dir)
		switch {
		case !want[dir]:
		case err == nil && now == w.watched[dir] && live[dir]:
			continue
		default:
			w.log.Info("a watched directory was replaced; watching the new one", keyFile, w.name, keyDir, dir)
		}
		if live[dir] {
			_ = w.fsw.Remove(dir) // gone already is fine
		}
		delete(w.watched, dir)
		changed = true
	}
	for _, dir := range slices.Sorted(maps.Keys(want)) {
		if _, ok := w.watched[dir]; ok {
			continue
		}
		id, err := statDir(dir)
		if err == nil {
			err = w.fsw.Add(dir)
		}
		if err != nil {
			if w.unwatched[dir] {
				continue // logged already
			}
			w.unwatched[dir] = true
			if dir == w.tmplDir {
				w.log.Warn("cannot watch the templates directory; reload (SIGHUP) after changing it",
					keyFile, w.name, "templates", dir, keyError, err)
			} else {
				w.log.Warn("cannot watch a directory of the instances file; changes are seen at the next resync",
					keyFile, w.name, keyDir, dir, keyError, err)
			}
			continue
		}
		w.watched[dir] = id
		delete(w.unwatched, dir)
		changed = true
	}
	maps.DeleteFunc(w.unwatched, func(dir string, _ bool) bool { return !want[dir] })
	if !changed {
		return
	}
	dirs := slices.Sorted(maps.Keys(w.watched))
	if c.missing {
		w.log.Warn("the instances file resolves to nothing; watching the nearest existing directory",
			keyFile, w.name, "missing", c.final, "dirs", dirs)
		return
	}
	w.log.Info("watching the instances file", keyFile, w.name, "resolves_to", c.final, "dirs", dirs)
}
