"""
Runs the authors' Python SPOT/DSPOT (Alban Siffer's spot.py, as copied in imperial-qore/TranAD src/spot.py) on fixed
series and writes what it finds, for spot-reference.test.ts to compare with jobs/runtime/core/evt. Needs numpy and
scipy; matplotlib, pandas and tqdm, which spot.py imports for plots and input types only, are stubbed.

  git -C <TranAD clone> show 1ceae9b7c8de34c594f023a6064abe2572dc73bd:src/spot.py > /tmp/spot.py
  python3 jobs/runtime/core/evt/reference/spot-reference.py /tmp/spot.py jobs/runtime/core/evt/reference/spot-reference.json

Each case runs the code as published and "fixed": the same code with its γ = 0 log-likelihood corrected from
+N(1 + log Ȳ) to −N(1 + log Ȳ), the only change.
"""
import importlib.util
import json
import math
import sys
import types

import numpy as np
import scipy

for name in ('matplotlib', 'matplotlib.pyplot', 'tqdm'):
    sys.modules[name] = types.ModuleType(name)
pandas = types.ModuleType('pandas')
pandas.Series = type('Series', (), {})
sys.modules['pandas'] = pandas

spec = importlib.util.spec_from_file_location('spot', sys.argv[1])
spot = importlib.util.module_from_spec(spec)
spec.loader.exec_module(spot)
published = {cls: cls._log_likelihood for cls in (spot.SPOT, spot.dSPOT)}


def corrected(Y, gamma, sigma):
    if gamma != 0:
        return published[spot.SPOT](Y, gamma, sigma)
    return -Y.size * (1 + math.log(Y.mean()))


def use(fixed):
    for cls, fn in published.items():
        cls._log_likelihood = corrected if fixed else fn


def fit_of(model):
    g, s, l = model._grimshaw()
    return {'gamma': float(g), 'sigma': float(s), 'logLikelihood': float(l)}


def digits(x):
    return float('%.10g' % x)


def run(algorithm, init, stream, case, fixed):
    if algorithm == 'spot':
        model = spot.SPOT(case['q'])
        model.fit(init, stream)
        model.initialize(level=case['level'], verbose=False)
    else:
        model = spot.dSPOT(case['q'], case['depth'])
        model.fit(init, stream)
        model.initialize(verbose=False)
    calibrated = {'initialThreshold': float(model.init_threshold), 'threshold': float(model.extreme_quantile), 'fit': fit_of(model), 'excesses': int(model.Nt)}
    result = model.run()
    out = {'calibrated': calibrated, 'alarms': [int(i) for i in result['alarms']], 'end': {'fit': fit_of(model), 'n': int(model.n), 'excesses': int(model.Nt)}}
    if fixed:
        th = result['thresholds']
        if algorithm == 'spot':
            # [index, threshold after that value] wherever it changed: SPOT refits on peaks only
            out['thresholdChanges'] = [[j, digits(t)] for j, t in enumerate(th) if j == 0 or t != th[j - 1]]
        else:
            out['thresholds'] = [digits(t) for t in th]
    return out


def rounded(values):
    # 6 decimals keep the fixture small; both sides read the same doubles from it
    return [float(v) for v in np.round(values, 6)]


rng = np.random.default_rng(20170813)
gaussian = rng.normal(0, 1, 3000)
gaussian[[1200, 1777, 2400, 2950]] += 6
u = rng.random(2000)
i = np.arange(3000)
drift = 5 + 0.002 * i + 0.1 * np.sin(i / 50) + rng.normal(0, 0.2, 3000)
drift[[1500, 2100, 2700]] += 2.5
series = {'gaussian': rounded(gaussian), 'gpd': rounded(1 / 0.4 * (u ** -0.4 - 1)), 'drift': rounded(drift)}

cases = [
    {'name': 'N(0, 1), 4 values +6 planted', 'series': 'gaussian', 'scale': 1, 'algorithm': 'spot', 'q': 1e-3, 'level': 0.98, 'calibrationSize': 1000, 'planted': [200, 777, 1400, 1950]},
    {'name': 'the same x10', 'series': 'gaussian', 'scale': 10, 'algorithm': 'spot', 'q': 1e-3, 'level': 0.98, 'calibrationSize': 1000, 'planted': [200, 777, 1400, 1950]},
    {'name': 'GPD(0.4, 1) heavy tail', 'series': 'gpd', 'scale': 1, 'algorithm': 'spot', 'q': 1e-3, 'level': 0.9, 'calibrationSize': 1000, 'planted': []},
    {'name': 'linear drift, 3 bursts +2.5 planted', 'series': 'drift', 'scale': 1, 'algorithm': 'dspot', 'q': 1e-3, 'level': 0.98, 'depth': 10, 'calibrationSize': 1000, 'planted': [500, 1100, 1700]},
]
for case in cases:
    # x * scale is one IEEE multiplication, the same in JavaScript
    data = np.array([v * case['scale'] for v in series[case['series']]])
    n = case['calibrationSize']
    for fixed in (False, True):
        use(fixed)
        case['fixed' if fixed else 'published'] = run(case['algorithm'], data[:n], data[n:], case, fixed)

with open(sys.argv[2], 'w') as out:
    json.dump({'source': 'imperial-qore/TranAD 1ceae9b7c8de34c594f023a6064abe2572dc73bd src/spot.py', 'numpy': np.__version__, 'scipy': scipy.__version__, 'series': series, 'cases': cases}, out)
    out.write('\n')
