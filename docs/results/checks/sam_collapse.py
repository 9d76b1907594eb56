# Does SAM collapse the study's small CNN at lr 0.03 in PyTorch too? A check, outside Go, of a
# finding of the noisy study (see sam-collapse.md). Usage: python3 sam_collapse.py [FASHION_MNIST_DIR]
# (default /usr/share/datasets/fashion-mnist, Debian's dataset-fashion-mnist).
import gzip, math, sys, numpy as np, torch, torch.nn as nn, torch.nn.functional as F
torch.set_num_threads(1)
def idx(p):
    with gzip.open(p) as f: b = f.read()
    if b[3] == 3: return np.frombuffer(b, np.uint8, offset=16).reshape(-1, 28, 28)
    return np.frombuffer(b, np.uint8, offset=8)
D=(sys.argv[1] if len(sys.argv) > 1 else '/usr/share/datasets/fashion-mnist').rstrip('/')+'/'
X = idx(D+'train-images-idx3-ubyte.gz').astype(np.float32)/255; Y = idx(D+'train-labels-idx1-ubyte.gz').astype(np.int64)
class CNN(nn.Module):
    def __init__(s):
        super().__init__(); s.c1=nn.Conv2d(1,32,3,padding=1); s.c2=nn.Conv2d(32,64,3,padding=1); s.d=nn.Linear(64*7*7,128); s.o=nn.Linear(128,10)
        for m in s.modules():
            if isinstance(m,(nn.Conv2d,nn.Linear)): nn.init.kaiming_normal_(m.weight, nonlinearity='relu'); nn.init.zeros_(m.bias)
    def forward(s,x):
        x=F.max_pool2d(F.relu(s.c1(x)),2); x=F.max_pool2d(F.relu(s.c2(x)),2); return s.o(F.relu(s.d(x.flatten(1))))
def run(method, rho, seed, epochs=2, n=2700, noise=0.4):
    rng=np.random.default_rng(seed); idxs=rng.permutation(len(X))[:n]; x=X[idxs]; y=Y[idxs].copy()
    flip=rng.random(n)<noise; y[flip]=(y[flip]+rng.integers(1,10,flip.sum()))%10
    x=(x-x.mean())/x.std(); x=torch.tensor(x).unsqueeze(1); y=torch.tensor(y)
    torch.manual_seed(seed); m=CNN(); ps=list(m.parameters())
    opt=torch.optim.SGD(ps, lr=0.03, momentum=0.9, weight_decay=5e-4)
    lossf=lambda out,t: F.cross_entropy(out,t,label_smoothing=0.1)
    for ep in range(epochs):
        perm=torch.randperm(n)
        for i in range(0,n-63,64):
            b=perm[i:i+64]; opt.zero_grad(); l=lossf(m(x[b]),y[b]); l.backward()
            if method=='sam':
                g=torch.norm(torch.stack([p.grad.norm() for p in ps])); e=[]
                with torch.no_grad():
                    for p in ps: d=p.grad*(rho/(g+1e-12)); p.add_(d); e.append(d)
                opt.zero_grad(); lossf(m(x[b]),y[b]).backward()
                with torch.no_grad():
                    for p,d in zip(ps,e): p.sub_(d)
            opt.step()
    with torch.no_grad(): tl=float(lossf(m(x),y)); acc=float((m(x).argmax(1)==y).float().mean())
    return tl, acc
for method,rho in [('erm',0),('sam',0.05),('sam',0.1)]:
    res=[run(method,rho,s) for s in range(1,9)]
    col=sum(l>=0.99*math.log(10) for l,_ in res)
    print(method, rho, 'collapsed', col, 'of', len(res), ' '.join(f'{l:.3f}/{a:.2f}' for l,a in res), flush=True)
