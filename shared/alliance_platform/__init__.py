"""The platform library shared by the alliance services: config, identity, typed errors,
transactions with an outbox, reliable event handling, logging, health and migrations."""

import warnings

# nameko 2.14 runs on eventlet; its deprecation notice says nothing an operator can act on.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
