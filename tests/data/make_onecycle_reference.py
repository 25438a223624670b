"""Writes onecycle_torch.json: the learning rates and momenta of torch's OneCycleLR.

Run once, in any environment with torch (``pip install torch==2.13.0``):
``python tests/data/make_onecycle_reference.py``. The course itself does not depend on
torch: the tests compare course_utils.schedules against the committed values.
"""

import json
from pathlib import Path

import torch

CASES = [
    dict(max_lr=0.1, total_steps=100, pct_start=0.3, anneal_strategy=a, three_phase=t,
         div_factor=25.0, final_div_factor=1e4)
    for a in ("cos", "linear") for t in (False, True)
] + [
    # The book's variant, in torch's terms (see course_utils.schedules).
    dict(max_lr=0.05, total_steps=1000, pct_start=0.45, anneal_strategy="linear", three_phase=True,
         div_factor=10.0, final_div_factor=1000.0),
    # An uneven split: phase ends that are not whole steps.
    dict(max_lr=3.0, total_steps=37, pct_start=0.27, anneal_strategy="cos", three_phase=False,
         div_factor=7.0, final_div_factor=50.0),
]


def reference(case):
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=0.1, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, cycle_momentum=True,
                                                    base_momentum=0.85, max_momentum=0.95, **case)
    lrs, momenta = [], []
    for step in range(case["total_steps"]):
        lrs.append(optimizer.param_groups[0]["lr"])
        momenta.append(optimizer.param_groups[0]["momentum"])
        if step < case["total_steps"] - 1:
            optimizer.step()
            scheduler.step()
    return dict(case=case, lr=lrs, momentum=momenta)


if __name__ == "__main__":
    out = Path(__file__).with_name("onecycle_torch.json")
    out.write_text(json.dumps(dict(torch_version=torch.__version__, cases=[reference(c) for c in CASES]), indent=1))
    print(f"wrote {out}")
