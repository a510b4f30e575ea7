"""The suite's fixtures come from ``core.testing`` (a pytest plugin installed with the package,
so plugins' tests share them); the helpers are re-exported here for the tests that import them.
"""

from core.testing import PASSWORD  # noqa: F401
from core.testing import POSTGRES_ADMIN_URL  # noqa: F401
from core.testing import REDIS_URL  # noqa: F401
from core.testing import csrf_token_of  # noqa: F401
from core.testing import require_services  # noqa: F401
from core.testing import rows_seen_by  # noqa: F401
from core.testing import sign_in  # noqa: F401
from core.testing import skip_or_fail  # noqa: F401
from core.testing import stop_process  # noqa: F401
