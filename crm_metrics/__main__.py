import sys

from crm_metrics.delivery.cli import main

sys.exit(main())
