# This file is part of bol_air_portal.
"""Products sold on the portal: a flag, a description and a picture."""
import datetime as dt

import trytond.config as config
from trytond.cache import Cache
from trytond.i18n import gettext
from trytond.model import fields
from trytond.pool import PoolMeta
from trytond.pyson import Eval

from .exceptions import PortalImageError

# The picture of a product shown online: only these formats, known by their
# first bytes (never by a file name or a declared type)
IMAGE_MAX_SIZE = 2 * 1024 * 1024


def image_max_size():
    return config.getint(
        'bol_air_portal', 'image_max_size', default=IMAGE_MAX_SIZE)


def image_type(data):
    "The MIME type of a PNG, JPEG or WebP image from its first bytes, or None"
    if not data:
        return None
    data = bytes(data[:16])
    if data.startswith(b'\x89PNG\r\n\x1a\n'):
        return 'image/png'
    if data.startswith(b'\xff\xd8\xff'):
        return 'image/jpeg'
    if data[:4] == b'RIFF' and data[8:12] == b'WEBP':
        return 'image/webp'
    return None


# The tax-included prices of the catalogue: per company, customer and day,
# {product template id: price} computed by the order lines of the CRM. A
# change of what makes a price (a product's price or taxes, a category's
# taxes, a tax, a tax rule) clears them at once in this server process and
# in the others when they synchronise their caches ([cache] clean_timeout);
# anything else shows at the latest after the duration.
catalogue_prices = Cache(
    'bol_air_portal.catalogue_prices', context=False,
    duration=dt.timedelta(minutes=30))
# The products sold online and their categories (ids, names, pictures), per
# company and language: cleared by any change of a product or a category
catalogue_shelf = Cache(
    'bol_air_portal.catalogue_shelf', context=False,
    duration=dt.timedelta(minutes=30))


class ClearCataloguePrices:
    """A change of these records may change the prices of the catalogue:
    any change, or only one of the fields in _catalogue_price_fields; and
    the products it shows when _catalogue_shelf"""
    __slots__ = ()
    _catalogue_price_fields = None
    _catalogue_shelf = False

    @classmethod
    def on_modification(cls, mode, records, field_names=None):
        super().on_modification(mode, records, field_names=field_names)
        if (mode != 'write' or field_names is None
                or cls._catalogue_price_fields is None
                or cls._catalogue_price_fields & set(field_names)):
            catalogue_prices.clear()
        if cls._catalogue_shelf:
            catalogue_shelf.clear()


class Template(ClearCataloguePrices, metaclass=PoolMeta):
    __name__ = 'product.template'
    _catalogue_price_fields = {
        'list_price', 'list_prices', 'account_category', 'sale_uom',
        'default_uom', 'salable', 'active', 'portal_sold', 'products',
        'customer_taxes', 'taxes_category',
        }
    _catalogue_shelf = True

    portal_sold = fields.Boolean(
        "Sold Online",
        help="Show the product in the portal's catalogue.")
    portal_description = fields.Text(
        "Online Description",
        states={
            'invisible': ~Eval('portal_sold'),
            },
        help="The text of the product's page in the portal.")
    portal_image = fields.Binary(
        "Online Picture",
        states={
            'invisible': ~Eval('portal_sold'),
            },
        help="A PNG, JPEG or WebP picture of at most 2 MB.")
    portal_image_type = fields.Char("Online Picture Type", readonly=True)

    @classmethod
    def default_portal_sold(cls):
        return False

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if 'portal_image' in values:
            values['portal_image_type'] = image_type(values['portal_image'])
        return values

    @classmethod
    def validate_fields(cls, templates, field_names):
        super().validate_fields(templates, field_names)
        if 'portal_image' in field_names:
            cls.check_portal_image(templates)

    @classmethod
    def check_portal_image(cls, templates):
        limit = image_max_size()
        for template in templates:
            data = template.portal_image
            if not data:
                continue
            if len(data) > limit:
                raise PortalImageError(gettext(
                        'bol_air_portal.msg_product_image_too_large',
                        product=template.rec_name,
                        size=limit // 1024))
            if image_type(data) is None:
                raise PortalImageError(gettext(
                        'bol_air_portal.msg_product_image_format',
                        product=template.rec_name))

    @classmethod
    def copy(cls, templates, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('portal_sold', False)
        return super().copy(templates, default=default)


class Product(ClearCataloguePrices, metaclass=PoolMeta):
    "Not its cost price, written by stock moves"
    __name__ = 'product.product'
    _catalogue_price_fields = {
        'list_price', 'list_prices', 'template', 'active',
        }


class Category(ClearCataloguePrices, metaclass=PoolMeta):
    __name__ = 'product.category'
    _catalogue_price_fields = {
        'customer_taxes', 'taxes_parent', 'parent', 'accounting',
        }
    _catalogue_shelf = True


class Tax(ClearCataloguePrices, metaclass=PoolMeta):
    __name__ = 'account.tax'


class TaxRuleLine(ClearCataloguePrices, metaclass=PoolMeta):
    __name__ = 'account.tax.rule.line'
