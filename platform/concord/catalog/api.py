"""Your organization's products and locations."""

from __future__ import annotations

import uuid

from flask.views import MethodView
from flask_smorest import Blueprint

from concord import db, policy
from concord.api_common import page_of, page_response
from concord.auth.web import current_principal
from concord.catalog import schemas, service
from concord.catalog.models import Location, Product

products = Blueprint("products", __name__, url_prefix="/api/v1/products", description="Your organization's products (item master).")
locations = Blueprint("locations", __name__, url_prefix="/api/v1/locations", description="Your organization's sites: plants, warehouses, docks.")
BLUEPRINTS = [products, locations]


@products.route("")
class Products(MethodView):
    @products.arguments(schemas.CatalogFilterSchema, location="query")
    @products.response(200, page_of(schemas.ProductSchema))
    def get(self, args):
        """Your products, newest first; search by SKU or name."""
        query = service.products_query(current_principal(), q=args["q"], active=args["active"])
        return page_response(query, [Product.created_at, Product.id], args)

    @products.arguments(schemas.ProductInputSchema)
    @products.response(201, schemas.ProductSchema)
    def post(self, data):
        """Add a product (members and admins); the SKU is unique in your organization."""
        return service.create_product(db.session(), current_principal(), data)


@products.route("/<uuid:product_id>")
class ProductItem(MethodView):
    @products.response(200, schemas.ProductSchema)
    def get(self, product_id: uuid.UUID):
        return policy.get_visible(db.session(), Product, product_id, current_principal())

    @products.arguments(schemas.ProductUpdateSchema)
    @products.response(200, schemas.ProductSchema)
    def patch(self, changes, product_id: uuid.UUID):
        """Change a product, or set `active: false` to retire it (members and admins)."""
        return service.update_product(db.session(), current_principal(), product_id, changes)


@locations.route("")
class Locations(MethodView):
    @locations.arguments(schemas.CatalogFilterSchema, location="query")
    @locations.response(200, page_of(schemas.LocationSchema))
    def get(self, args):
        """Your locations, newest first; search by name or city."""
        query = service.locations_query(current_principal(), q=args["q"], active=args["active"])
        return page_response(query, [Location.created_at, Location.id], args)

    @locations.arguments(schemas.LocationInputSchema)
    @locations.response(201, schemas.LocationSchema)
    def post(self, data):
        """Add a location (members and admins); its name is unique in your organization."""
        return service.create_location(db.session(), current_principal(), data)


@locations.route("/<uuid:location_id>")
class LocationItem(MethodView):
    @locations.response(200, schemas.LocationSchema)
    def get(self, location_id: uuid.UUID):
        return policy.get_visible(db.session(), Location, location_id, current_principal())

    @locations.arguments(schemas.LocationUpdateSchema)
    @locations.response(200, schemas.LocationSchema)
    def patch(self, changes, location_id: uuid.UUID):
        """Change a location, or set `active: false` to retire it (members and admins)."""
        return service.update_location(db.session(), current_principal(), location_id, changes)
