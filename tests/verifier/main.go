// Command verifier checks a board directory with off-the-shelf transparency log code:
// golang.org/x/mod/sumdb/note and tlog (the Go checksum database's), and
// transparency-dev's formats (checkpoints) and merkle (RFC 6962 proofs).
//
// It reads <dir>/checkpoint (dir a directory or an http(s) URL prefix, as the query
// service serves /board/p<N>/), verifies its signature with the verifier key, recomputes the
// root from <dir>/tile/... (tlog's TileHashReader authenticates every tile it reads),
// checks that every entry of the entry bundles hashes to its leaf, proves and checks the
// inclusion of one leaf and the consistency of an older checkpoint, and checks the proofs
// the board's own code made, if given, and a receipt's c2sp.org/tlog-proof (transparency-
// dev's formats/proof) for a tracking code, if given. It prints "ok" and exits 0, or says
// what failed and exits 1.
//
//	go run . -dir DIR|URL -vkey VKEY -origin ORIGIN [-old FILE] [-leaf N] [-proofs FILE]
//	         [-tlogproof FILE -code HEX]
package main

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/transparency-dev/formats/log"
	tlogproof "github.com/transparency-dev/formats/proof"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const tileHeight = 8

// Proofs are the board code's own proofs, to be checked here (hashes as base64).
type Proofs struct {
	Leaf        int64    `json:"leaf"`
	Inclusion   [][]byte `json:"inclusion"`
	OldSize     int64    `json:"old_size"`
	Consistency [][]byte `json:"consistency"`
}

// fetch reads a file of the board: from a directory, or over HTTP from a URL prefix.
func fetch(base, path string) ([]byte, error) {
	if !strings.HasPrefix(base, "http://") && !strings.HasPrefix(base, "https://") {
		return os.ReadFile(filepath.Join(base, path))
	}
	url := strings.TrimSuffix(base, "/") + "/" + path
	resp, err := http.Get(url) //nolint:gosec // the URL is the test's own server
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return io.ReadAll(resp.Body)
}

// tileDir serves tiles from a directory (or URL prefix) laid out as c2sp.org/tlog-tiles,
// whose paths are tlog's without the height element ("tile/8/0/000.p/5" is "tile/0/000.p/5").
type tileDir string

func (d tileDir) Height() int { return tileHeight }

func (d tileDir) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	data := make([][]byte, len(tiles))
	for i, t := range tiles {
		b, err := fetch(string(d), c2spPath(t))
		if err != nil {
			return nil, err
		}
		data[i] = b
	}
	return data, nil
}

func (d tileDir) SaveTiles([]tlog.Tile, [][]byte) {}

func c2spPath(t tlog.Tile) string {
	return "tile/" + strings.TrimPrefix(t.Path(), fmt.Sprintf("tile/%d/", tileHeight))
}

func main() {
	dir := flag.String("dir", "", "the board directory (holding checkpoint and tile/)")
	vkey := flag.String("vkey", "", "the log's verifier key")
	origin := flag.String("origin", "", "the log's origin")
	old := flag.String("old", "", "an older checkpoint of the same log")
	leaf := flag.Int64("leaf", 0, "the leaf whose inclusion to prove")
	proofs := flag.String("proofs", "", "a JSON file of the board code's own proofs")
	receipt := flag.String("tlogproof", "", "a c2sp.org/tlog-proof file to check")
	code := flag.String("code", "", "the tracking code (hex leaf hash) the tlog-proof proves")
	flag.Parse()
	if err := run(*dir, *vkey, *origin, *old, *leaf, *proofs); err != nil {
		fmt.Fprintln(os.Stderr, "verifier:", err)
		os.Exit(1)
	}
	if err := checkTLogProof(*receipt, *code, *origin, *vkey); err != nil {
		fmt.Fprintln(os.Stderr, "verifier:", err)
		os.Exit(1)
	}
	fmt.Println("ok")
}

func run(dir, vkey, origin, oldPath string, leaf int64, proofsPath string) error {
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		return fmt.Errorf("verifier key: %w", err)
	}
	tree, err := readCheckpoint(dir, "checkpoint", origin, verifier)
	if err != nil {
		return err
	}
	tiles := tileDir(dir)
	hashes := tlog.TileHashReader(tree, tiles)
	if err := checkRoot(tree, tiles); err != nil {
		return err
	}
	if err := checkEntries(dir, tree.N, hashes); err != nil {
		return err
	}
	if leaf < 0 || leaf >= tree.N {
		return fmt.Errorf("leaf %d is not in a tree of size %d", leaf, tree.N)
	}
	leafHash, err := hashes.ReadHashes([]int64{tlog.StoredHashIndex(0, leaf)})
	if err != nil {
		return fmt.Errorf("leaf %d: %w", leaf, err)
	}
	inclusion, err := tlog.ProveRecord(tree.N, leaf, hashes)
	if err != nil {
		return fmt.Errorf("proving leaf %d: %w", leaf, err)
	}
	if err := tlog.CheckRecord(inclusion, tree.N, tree.Hash, leaf, leafHash[0]); err != nil {
		return fmt.Errorf("inclusion of leaf %d: %w", leaf, err)
	}
	var oldTree tlog.Tree
	if oldPath != "" {
		if oldTree, err = checkOld(oldPath, origin, verifier, tree, tiles, hashes); err != nil {
			return err
		}
	}
	if proofsPath != "" {
		return checkProofs(proofsPath, tree, oldTree, hashes)
	}
	return nil
}

func readCheckpoint(base, path, origin string, verifier note.Verifier) (tlog.Tree, error) {
	data, err := fetch(base, path)
	if err != nil {
		return tlog.Tree{}, err
	}
	cp, _, _, err := log.ParseCheckpoint(data, origin, verifier)
	if err != nil {
		return tlog.Tree{}, fmt.Errorf("%s: %w", path, err)
	}
	if len(cp.Hash) != tlog.HashSize {
		return tlog.Tree{}, fmt.Errorf("%s: the root is not %d bytes", path, tlog.HashSize)
	}
	tree := tlog.Tree{N: int64(cp.Size)}
	copy(tree.Hash[:], cp.Hash)
	return tree, nil
}

// checkRoot recomputes the tree's root from its tiles alone.
func checkRoot(tree tlog.Tree, tiles tileDir) error {
	root, err := tlog.TreeHash(tree.N, tlog.TileHashReader(tree, tiles))
	if err != nil {
		return fmt.Errorf("tiles of size %d: %w", tree.N, err)
	}
	if root != tree.Hash {
		return fmt.Errorf("tiles of size %d: root %v, checkpoint says %v", tree.N, root, tree.Hash)
	}
	return nil
}

// checkEntries checks that the entry bundles hold exactly the tree's entries, each hashing
// to its leaf in the (authenticated) level 0 tiles.
func checkEntries(dir string, size int64, hashes tlog.HashReader) error {
	for start := int64(0); start < size; start += 1 << tileHeight {
		width := min(size-start, 1<<tileHeight)
		t := tlog.Tile{H: tileHeight, L: 0, N: start >> tileHeight, W: int(width)}
		path := strings.Replace(c2spPath(t), "tile/0/", "tile/entries/", 1)
		data, err := fetch(dir, path)
		if err != nil {
			return err
		}
		entries, err := splitBundle(data)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if int64(len(entries)) != width {
			return fmt.Errorf("%s: %d entries, not %d", path, len(entries), width)
		}
		for i, entry := range entries {
			want, err := hashes.ReadHashes([]int64{tlog.StoredHashIndex(0, start+int64(i))})
			if err != nil {
				return err
			}
			if tlog.RecordHash(entry) != want[0] {
				return fmt.Errorf("%s: entry %d does not hash to its leaf", path, i)
			}
		}
	}
	return nil
}

func splitBundle(data []byte) ([][]byte, error) {
	var entries [][]byte
	for len(data) > 0 {
		if len(data) < 2 {
			return nil, errors.New("bundle ends inside a length")
		}
		n := int(binary.BigEndian.Uint16(data))
		if len(data) < 2+n {
			return nil, errors.New("bundle ends inside an entry")
		}
		entries, data = append(entries, data[2:2+n]), data[2+n:]
	}
	return entries, nil
}

// checkOld verifies an older checkpoint: its signature, its root from its own tiles and
// from the newer tree's, and a consistency proof from it to the newer tree.
func checkOld(path, origin string, verifier note.Verifier, tree tlog.Tree, tiles tileDir, hashes tlog.HashReader) (tlog.Tree, error) {
	old, err := readCheckpoint(filepath.Dir(path), filepath.Base(path), origin, verifier)
	if err != nil {
		return old, err
	}
	if old.N > tree.N {
		return old, fmt.Errorf("the old checkpoint (%d) is larger than the new one (%d)", old.N, tree.N)
	}
	if err := checkRoot(old, tiles); err != nil {
		return old, err
	}
	root, err := tlog.TreeHash(old.N, hashes)
	if err != nil || root != old.Hash {
		return old, fmt.Errorf("the new tree does not extend the old one (%v)", err)
	}
	consistency, err := tlog.ProveTree(tree.N, old.N, hashes)
	if err != nil {
		return old, fmt.Errorf("proving consistency: %w", err)
	}
	if err := tlog.CheckTree(consistency, tree.N, tree.Hash, old.N, old.Hash); err != nil {
		return old, fmt.Errorf("consistency %d -> %d: %w", old.N, tree.N, err)
	}
	return old, nil
}

// checkProofs checks the board code's own proofs with transparency-dev's verifier.
func checkProofs(path string, tree, old tlog.Tree, hashes tlog.HashReader) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var p Proofs
	if err := json.NewDecoder(bytes.NewReader(data)).Decode(&p); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if p.Leaf < 0 || p.Leaf >= tree.N {
		return fmt.Errorf("proofs: leaf %d is not in a tree of size %d", p.Leaf, tree.N)
	}
	leaf, err := hashes.ReadHashes([]int64{tlog.StoredHashIndex(0, p.Leaf)})
	if err != nil {
		return err
	}
	hasher := rfc6962.DefaultHasher
	if err := proof.VerifyInclusion(hasher, uint64(p.Leaf), uint64(tree.N), leaf[0][:], p.Inclusion, tree.Hash[:]); err != nil {
		return fmt.Errorf("the board's inclusion proof of leaf %d: %w", p.Leaf, err)
	}
	if p.OldSize != old.N {
		return fmt.Errorf("proofs: old size %d, the old checkpoint's is %d", p.OldSize, old.N)
	}
	if err := proof.VerifyConsistency(hasher, uint64(old.N), uint64(tree.N), p.Consistency, old.Hash[:], tree.Hash[:]); err != nil {
		return fmt.Errorf("the board's consistency proof %d -> %d: %w", old.N, tree.N, err)
	}
	return nil
}

// checkTLogProof checks a receipt's proof (c2sp.org/tlog-proof@v1, parsed by
// transparency-dev's formats/proof): its checkpoint is signed by the log's key, and the
// tracking code is the leaf at its index in that checkpoint's tree.
func checkTLogProof(path, code, origin, vkey string) error {
	if path == "" {
		return nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var p tlogproof.TLogProof
	if err := p.Unmarshal(data); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		return fmt.Errorf("verifier key: %w", err)
	}
	cp, _, _, err := log.ParseCheckpoint(p.Checkpoint, origin, verifier)
	if err != nil {
		return fmt.Errorf("%s: its checkpoint: %w", path, err)
	}
	leaf, err := hex.DecodeString(code)
	if err != nil || len(leaf) != tlog.HashSize {
		return fmt.Errorf("tracking code %q is not %d bytes of hex", code, tlog.HashSize)
	}
	hashes := make([][]byte, len(p.Hashes))
	for i := range p.Hashes {
		hashes[i] = p.Hashes[i][:]
	}
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, p.Index, cp.Size, leaf, hashes, cp.Hash); err != nil {
		return fmt.Errorf("%s: tracking code %s at index %d of %d: %w", path, code, p.Index, cp.Size, err)
	}
	return nil
}
