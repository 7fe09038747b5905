#!/bin/bash
# Entry point of the lab's CPU Triton image, in the place and with the contract of the NGC image's:
# print a banner, then run the command given (the NGC image's default command is a shell).
cat <<BANNER
=============================
== Triton Inference Server ==
=============================
NVIDIA Release ${NVIDIA_TRITON_SERVER_VERSION} (build gpufleet-lab, CPU only: no CUDA, python backend only)
Triton Server Version ${TRITON_SERVER_VERSION}
BANNER
if [ $# -eq 0 ]; then set -- /bin/bash; fi
exec "$@"
