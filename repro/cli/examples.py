"""The examples each ``repro`` command's help ends with (argparse epilogs), by command."""

EXAMPLES = {
    "main": """examples:
  repro ls tables
  repro validate bicubic_classic
  repro table bicubic_classic
  repro get esc_main --yes        # the datasets and checkpoints a table needs
  repro eval --model bicubic --scale 4 --dataset Set5 --json
  repro score psnr ssim --ref HR/ --dist SR/ --channel y --crop 4
  repro report""",
    "ls": """examples:
  repro ls tables
  repro ls datasets
  repro ls models --json""",
    "validate": """examples:
  repro validate bicubic_classic
  repro validate camixer_tab2 --data-root /data/sr""",
    "table": """examples:
  repro table bicubic_classic
  repro table bicubic_classic --datasets Set5 Set14 --json
  repro table camixer_tab3 --data-root /data/sr --limit 5
  repro table bicubic_classic --out ~/sr-runs     # into that workspace
  torchrun --nproc-per-node 2 --no-python repro table bicubic_classic   # images sharded
  repro table camixer_tab2 --all                  # every cell, not only the measured ones
  repro table bicubic_classic --save-sr sr/       # SR images: sr/<row id>/<dataset>/
  repro table bicubic_classic --summary-md "$GITHUB_STEP_SUMMARY" --fail-on FAIL,NO-QUALITY
  repro table bicubic_classic --quiet             # last lines only (CI logs)""",
    "eval": """examples:
  repro eval --model bicubic --scale 2 --dataset Set14
  repro eval --model camixersr-s --scale 4 --dataset Set5 --set ratio=0.5 --json
  repro eval --model esc-light --scale 4 --dataset B100 --weights ESC_light_X4.pth
  repro eval --model esc-light --scale 4 --hr my_photos/    # LR made the papers' way
  repro eval --model esc-light --scale 4 --hr HR/ --lr LR/ --json
  repro eval --model camixersr-s --scale 4 --lr LR/ --save-sr SR/ --tile 64
  repro eval --model esc-light --scale 4 --dataset Set5 --save-sr sr/   # named as Set5's HR
  repro eval --model esc-real --scale 4 --lr real_photos/ --metrics niqe
  repro eval --model mynets:build --scale 4 --dataset Set14 --weights mine_x4.pth
  repro eval --model spandrel --scale 4 --dataset Set14 --weights 4x_SwinIR.pth""",
    "card": """examples:
  repro card new my_photos/                  # <workspace>/cards/my_photos.yaml
  repro card new /data/sr/MySet -o cards/MySet.yaml --scales 2 4
  repro card new real_photos/ --lr-only --name RealPhotos""",
    "score": """examples:
  repro score psnr --ref hr.png --dist sr.png --channel y --crop 4
  repro score psnr ssim --ref HR/ --dist SR/ --crop 4 --mod-crop 4   # as repro eval scores
  repro score ssim --ref HR/ --dist SR/ --channel rgb --json
  repro score niqe --dist SR/""",
    "report": """examples:
  repro report                    # the index over every table
  repro report camixer_tab3       # re-compare saved results with the spec, re-render
  repro report bicubic_classic --summary-md summary.md --fail-on FAIL,IMPROVED,STALE
  repro report --out ~/sr-runs              # the index of another workspace""",
    "pull": """examples:
  repro pull camixersr-s --scale 4
  repro pull esc-x4-dflip
  repro pull esc-light --scale 4 --trust-unverified   # no published sha256
  repro pull musiq maniqa     # a metric's weight files, from the Hub at a pinned commit
  HF_HUB_OFFLINE=1 repro pull fid   # offline: from the Hugging Face cache only""",
    "fetch": """examples:
  repro fetch Test2K                  # into <cache>/fetched/Test2K (runs look there)
  repro fetch KITTI2012 --scale 4 --data-root /data/sr   # into /data/sr/KITTI2012
  repro fetch Urban100                # a Hub set: the pinned snapshot, unpacked
  repro fetch Test8K --build          # built from DIV8K on the Hub (range reads)""",
    "verify": """examples:
  repro verify Set5
  repro verify B100 --scale 3 --data-root /data/sr
  repro verify Test2K                 # after fetch: checked against the dataset lock""",
}
