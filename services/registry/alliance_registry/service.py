from alliance_platform.entrypoints import rpc
from alliance_platform.service import AllianceService

from . import use_cases
from .schemas import MerchantRef, RegisterMerchant

STAFF = ("admin", "staff", "system")


class RegistryService(AllianceService):
    name = "registry"

    @rpc(read_only=True)
    def list_districts(self):
        return use_cases.list_districts(self.db)

    @rpc(schema=RegisterMerchant, allow=STAFF)
    def register_merchant(self, cmd):
        return use_cases.register_merchant(self.db, self.call.identity, cmd)

    @rpc(schema=MerchantRef, read_only=True)
    def get_merchant(self, cmd):
        return use_cases.get_merchant(self.db, self.call.identity, str(cmd["merchant_id"]))
