# kernel-mix.wl - a kernel-like allocation mix for `zpa replay --workload`.
# The format is in docs/REPLAY.md.  SPDX-License-Identifier: MIT
seed 42
ops 400000
cpus 0-1
interrupt-cpus 1

# Slab pages: unmovable, small orders, long-lived.
class slab       gfp=GFP_KERNEL|__GFP_COMP           order=0-3  weight=20  life=150000
# Page cache: movable, order 0, lives long (until "reclaimed").
class pagecache  gfp=GFP_HIGHUSER_MOVABLE            order=0    weight=40  life=250000
# Anonymous memory: movable, zeroed, shorter lives.
class anon       gfp=GFP_HIGHUSER_MOVABLE|__GFP_ZERO order=0    weight=36  life=40000
# Transparent huge pages: order 9, no reclaim on the first try.
class thp        gfp=GFP_TRANSHUGE_LIGHT|__GFP_NORETRY order=9  weight=1   life=100000
# Reclaimable slab (dentries, inodes).
class dcache     gfp=GFP_KERNEL|__GFP_RECLAIMABLE    order=0-1  weight=3   life=200000
# Network receive bursts on the interrupt CPU: GFP_ATOMIC, short-lived.
burst netrx      gfp=GFP_ATOMIC|__GFP_COMP           order=0-2  every=20000 size=600 life=400
