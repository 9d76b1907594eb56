package data

import (
	"testing"
)

func TestLoadByName(t *testing.T) {
	noCache(t)
	s, err := Load("mnist", "", "test")
	if err != nil || s.Images == nil || s.Images.N != 10000 || IsText("mnist") {
		t.Fatalf("mnist: %v", err)
	}
	_, err = Load("cifar", "", "train")
	wantErr(t, err, "unknown data set \"cifar\"", "cifar10, cifar100, fashion-mnist, imagefolder, mnist, sst2, tsv")
	_, err = Load("cifar10", "", "train")
	wantErr(t, err, "cifar10 needs a path")
	_, err = Load("sst2", "/no/such/sst2.tar.gz", "train")
	wantErr(t, err, "/no/such/sst2.tar.gz", "not found")
	if !IsText("sst2") || !IsText("tsv") || len(Names()) != 7 {
		t.Fatal("names")
	}
}
