# The environment every ./course command runs in (sourced by ./course; kernels and tests inherit it).
#
# glibc's malloc (2.35 and newer): blocks of 4 MB and more (a batch of images, its activations and
# gradients) get their own mapping, on huge pages, and go back to the system when freed. By default
# glibc raises that threshold to the size of the last freed block, so full-batch training reuses a
# heap that fragments: chapter 02's kernel peaked at 1.27-1.47 GB that way, 0.72 GB with this, for
# about 10 % more time in that chapter (every large block is a fresh mapping to fill; huge pages keep
# that cheap; see benchmarks/README.md). Other C libraries (macOS, musl) and older glibc ignore it.
if [ "$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{split($2, v, "."); print (v[1] > 2 || (v[1] == 2 && v[2] >= 35))}')" = 1 ]; then
    case "${GLIBC_TUNABLES:-}" in
        *glibc.malloc.mmap_threshold*) ;;   # the user's own setting wins
        *) export GLIBC_TUNABLES="${GLIBC_TUNABLES:+$GLIBC_TUNABLES:}glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=4194304" ;;
    esac
fi

# Apple's MPS (the GPU of Apple-silicon Macs, which ae.device() picks there) lacks some operators;
# with this set, PyTorch runs those on the CPU, with a warning, instead of failing. Only on macOS.
if [ "$(uname -s)" = Darwin ]; then
    export PYTORCH_ENABLE_MPS_FALLBACK="${PYTORCH_ENABLE_MPS_FALLBACK:-1}"
fi
