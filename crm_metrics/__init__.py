"""crm_metrics: the engine (data -> metrics -> judgement -> delivery); no Streamlit here.

One process-wide setting is made on import, before numpy loads its BLAS: one BLAS thread
(``OPENBLAS_NUM_THREADS`` and ``MKL_NUM_THREADS`` = 1, unless already set). The goal forecasts fit
a few dozen small ETS models (judgement/forecast.py); on matrices that small, BLAS threads cost
more in start-up and contention than they save (about 5x the CPU on a busy 2-core machine,
docs/benchmarks.md). Nothing here multiplies large matrices. A value set in the environment
wins; set after numpy is loaded, the variables have no effect, so ``ui`` and the CLI import this
package first.
"""
import os

for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
