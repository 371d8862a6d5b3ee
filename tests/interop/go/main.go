// Command checknote verifies one of our audit checkpoints with the Go checksum
// database's own signed-note package (golang.org/x/mod/sumdb/note) and checks an
// inclusion proof against its root with golang.org/x/mod/sumdb/tlog. With -tree dossiers
// the proof is checked against the tree of the checkpoint's extension line
// "dossiers <size> <base64 root>" (the dossier index) instead of the log's tree.
//
//	checknote -vkey <log vkey> -note checkpoint.txt [-tree dossiers] [-index I -leaf HEX -proof HEX,HEX,...]
//
// It prints "origin size base64-root" and exits 0 when the note verifies, 1 otherwise.
package main

import (
	"encoding/base64"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}

func hash(text string) tlog.Hash {
	raw, err := hex.DecodeString(text)
	if err != nil || len(raw) != tlog.HashSize {
		fail("bad hash %q", text)
	}
	var h tlog.Hash
	copy(h[:], raw)
	return h
}

func main() {
	vkey := flag.String("vkey", "", "verifier key of the log")
	notePath := flag.String("note", "", "file holding the signed checkpoint note")
	index := flag.Int64("index", -1, "leaf index of an inclusion proof to check")
	leaf := flag.String("leaf", "", "hex leaf hash")
	proof := flag.String("proof", "", "comma-separated hex hashes of the inclusion proof")
	tree := flag.String("tree", "", "check the proof in the tree of this extension line instead")
	flag.Parse()

	verifier, err := note.NewVerifier(*vkey)
	if err != nil {
		fail("bad vkey: %v", err)
	}
	msg, err := os.ReadFile(*notePath)
	if err != nil {
		fail("read: %v", err)
	}
	n, err := note.Open(msg, note.VerifierList(verifier))
	if err != nil {
		fail("note does not verify: %v", err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 {
		fail("not a checkpoint: %q", n.Text)
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		fail("bad size: %v", err)
	}
	rootRaw, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(rootRaw) != tlog.HashSize {
		fail("bad root hash")
	}
	var root tlog.Hash
	copy(root[:], rootRaw)
	if *tree != "" {
		size, root = extensionTree(lines[3:], *tree)
	}
	if *index >= 0 {
		var path tlog.RecordProof
		for _, h := range strings.Split(*proof, ",") {
			if h != "" {
				path = append(path, hash(h))
			}
		}
		if err := tlog.CheckRecord(path, size, root, *index, hash(*leaf)); err != nil {
			fail("inclusion proof does not verify: %v", err)
		}
		fmt.Printf("included %d\n", *index)
	}
	fmt.Printf("%s %d %s %d\n", lines[0], size, lines[2], len(n.Sigs))
}

// extensionTree reads the size and root of the extension line "<name> <size> <base64 root>".
func extensionTree(extensions []string, name string) (int64, tlog.Hash) {
	for _, line := range extensions {
		fields := strings.Fields(line)
		if len(fields) != 3 || fields[0] != name {
			continue
		}
		size, err := strconv.ParseInt(fields[1], 10, 64)
		raw, err2 := base64.StdEncoding.DecodeString(fields[2])
		if err != nil || err2 != nil || len(raw) != tlog.HashSize {
			fail("bad %s line %q", name, line)
		}
		var root tlog.Hash
		copy(root[:], raw)
		return size, root
	}
	fail("no %s line in the checkpoint", name)
	return 0, tlog.Hash{}
}
